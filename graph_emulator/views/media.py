"""Media: the sample prompts Graph can fetch, and the recordings it keeps for a while behind
each operation's access token."""

import hmac
import uuid
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from graph_emulator import audio, services
from graph_emulator.errors import GraphProblem, error_response
from graph_emulator.models import Operation
from graph_emulator.views.common import bearer_token

CHUNK_BYTES = 64 * 1024


def media_beep(request: HttpRequest) -> HttpResponse:
    return HttpResponse(audio.beep_wav(), content_type="audio/wav")


def media_tone(request: HttpRequest, ms: int) -> HttpResponse:
    if not 1 <= ms <= audio.MAX_TONE_MS:
        return JsonResponse(
            {
                "error": {
                    "code": "itemNotFound",
                    "message": f"Tones last 1 to {audio.MAX_TONE_MS} ms.",
                }
            },
            status=404,
        )
    return HttpResponse(audio.tone_wav(ms), content_type="audio/wav")


def _file_chunks(path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


@csrf_exempt
def recording(request: HttpRequest, operation_id: str) -> HttpResponse:
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())

    def problem(status: int, code: str, message: str) -> HttpResponse:
        response = error_response(
            GraphProblem(status, code, message),
            request_id=request_id,
            client_request_id=client_request_id,
        )
        response["request-id"] = request_id
        return response

    if request.method != "GET":
        return problem(405, "BadRequest", "Recordings are fetched with GET.")
    op = Operation.objects.filter(pk=operation_id.lower(), kind=Operation.Kind.RECORD).first()
    if op is None:
        return problem(404, "itemNotFound", "There is no recording at this location.")
    given = bearer_token(request)
    if not given or not op.access_token or not hmac.compare_digest(given, op.access_token):
        return problem(
            401,
            "InvalidAuthenticationToken",
            "Send the operation's recordingAccessToken as 'Authorization: Bearer <token>'.",
        )
    path = services.recording_path(op)
    if not op.has_recording or path is None:
        return problem(404, "itemNotFound", "This operation has no recording (yet).")
    if op.expires_at is None or op.expires_at <= timezone.now() or not path.exists():
        path.unlink(missing_ok=True)
        return problem(404, "itemNotFound", "The recording has expired and was discarded.")
    # Streamed without a Content-Length, like Graph's chunked answers.
    response = StreamingHttpResponse(_file_chunks(path), content_type="application/octet-stream")
    response["request-id"] = request_id
    return response
