"""The emulator's HTTP surface: Azure AD, Graph (beta and v1.0), media, recordings, control.

Views stay thin: they parse, check and call services; state changes live in services.py.
"""

import base64
import functools
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from graph_emulator import audio, faults, payloads, services, signing
from graph_emulator.errors import GraphProblem, bad_request, error_response
from graph_emulator.faults import FaultError
from graph_emulator.models import Call, Delivery, FaultName, Operation
from graph_emulator.script import ScriptError
from graph_emulator.transport import NotLoopback, check_loopback
from graph_emulator.validation import validate_client_context, validate_record_body

logger = logging.getLogger(__name__)

PROFILE_OF_VERSION = {"beta": Operation.Profile.BETA_RECORD, "v1.0": Operation.Profile.V1}
SERVER_ERROR_CODES = {500: "InternalServerError", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
JSON_UNREADABLE = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload "
    "is of valid JSON format."
)
CHUNK_BYTES = 64 * 1024


# --- Helpers shared by the Graph routes ------------------------------------------------------


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _authenticate(request: HttpRequest) -> None:
    token = _bearer(request)
    challenge = {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'}
    if not token:
        raise GraphProblem(
            401, "InvalidAuthenticationToken", "Access token is empty.", headers=challenge
        )
    try:
        signing.verify_app_token(token)
    except signing.InvalidAppToken as err:
        raise GraphProblem(401, "InvalidAuthenticationToken", str(err), headers=challenge) from err


def _request_faults() -> None:
    throttle = faults.take(FaultName.THROTTLE)
    if throttle is not None:
        retry_after = f"{float(throttle.get('retry_after', 1)):g}"
        raise GraphProblem(
            429,
            "TooManyRequests",
            f"Too many requests. Retry after {retry_after} seconds.",
            headers={"Retry-After": retry_after},
        )
    server_error = faults.take(FaultName.SERVER_ERROR)
    if server_error is not None:
        status = int(server_error.get("status", 503))
        raise GraphProblem(
            status, SERVER_ERROR_CODES[status], "The service is temporarily unavailable (fault)."
        )
    slow = faults.take(FaultName.SLOW)
    if slow is not None:
        time.sleep(float(slow.get("seconds", 2)))


def graph_route(*methods: str) -> Callable:
    """Wraps a Graph view: method check, bearer token, request faults, error bodies, and the
    request-id / client-request-id headers on every answer."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request_id = str(uuid.uuid4())
            client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
            try:
                if request.method not in methods:
                    raise GraphProblem(
                        405,
                        "BadRequest",
                        f"The HTTP method '{request.method}' is not allowed on this resource.",
                        headers={"Allow": ", ".join(methods)},
                    )
                _authenticate(request)
                _request_faults()
                response = view(request, *args, **kwargs)
            except GraphProblem as problem:
                response = error_response(
                    problem, request_id=request_id, client_request_id=client_request_id
                )
            response["request-id"] = request_id
            response["client-request-id"] = client_request_id
            return response

        return wrapper

    return decorate


def _json_body(request: HttpRequest, *, required: bool = True) -> dict:
    if not request.body:
        if required:
            raise bad_request(JSON_UNREADABLE)
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(JSON_UNREADABLE) from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _operation_url(request: HttpRequest, version: str, call_id: str, op_id: str) -> str:
    path = reverse(
        "graph_emulator:call-operation",
        kwargs={"version": version, "call_id": call_id, "operation_id": op_id},
    )
    return request.build_absolute_uri(path)


# --- Graph ----------------------------------------------------------------------------------


@graph_route("POST")
def record(request: HttpRequest, version: str, call_id: str, app_id: str | None = None):
    if app_id is not None and app_id.lower() != settings.EMULATOR_CLIENT_ID.lower():
        raise GraphProblem(
            404, "Request_ResourceNotFound", f"Application '{app_id}' was not found."
        )
    profile = PROFILE_OF_VERSION[version]
    body = _json_body(request)
    call = services.find_live_call(call_id)
    params = validate_record_body(body, profile)

    def location_for(op_id: str) -> str:
        return request.build_absolute_uri(reverse("graph_emulator:recording", args=[op_id]))

    op = services.start_record(call=call, profile=profile, params=params, location_for=location_for)
    response = JsonResponse(payloads.operation_resource(op, profile))
    if profile == Operation.Profile.V1:
        response["Location"] = _operation_url(request, version, call.id, op.id)
    return response


@graph_route("POST")
def cancel_media_processing(request: HttpRequest, version: str, call_id: str):
    profile = PROFILE_OF_VERSION[version]
    body = _json_body(request, required=False)
    call = services.find_live_call(call_id)
    context = validate_client_context(body)
    op = services.cancel_media_processing(call=call, profile=profile, client_context=context)
    response = JsonResponse(payloads.operation_resource(op, profile))
    if profile == Operation.Profile.V1:
        response["Location"] = _operation_url(request, version, call.id, op.id)
    return response


@graph_route("GET", "DELETE")
def call_detail(request: HttpRequest, version: str, call_id: str):
    call = services.find_live_call(call_id)
    if request.method == "DELETE":
        services.hang_up(call=call)
        return HttpResponse(status=204)
    return JsonResponse(payloads.call_resource(call, client_id=settings.EMULATOR_CLIENT_ID))


@graph_route("POST")
def answer(request: HttpRequest, version: str, call_id: str):
    body = _json_body(request)
    call = services.find_live_call(call_id)
    problems = []
    callback_uri = body.get("callbackUri")
    if not isinstance(callback_uri, str) or not callback_uri:
        problems.append(
            "callbackUri is required: the URL Graph posts this call's notifications to."
        )
    media = body.get("mediaConfig")
    if not isinstance(media, dict) or media.get("@odata.type") != (
        "#microsoft.graph.serviceHostedMediaConfig"
    ):
        problems.append(
            'mediaConfig must be {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}: '
            "the emulator hosts the media itself."
        )
    modalities = body.get("acceptedModalities")
    if not isinstance(modalities, list) or "audio" not in modalities:
        problems.append('acceptedModalities must be a list holding "audio".')
    if problems:
        raise bad_request(" ".join(problems))
    try:
        check_loopback(callback_uri)
    except NotLoopback as err:
        raise bad_request(f"callbackUri refused: {err}.") from err
    services.answer_call(call=call, callback_uri=callback_uri)
    return HttpResponse(status=202)


@graph_route("GET")
def operation_detail(request: HttpRequest, version: str, call_id: str, operation_id: str):
    call = services.find_live_call(call_id)
    op = Operation.objects.filter(call=call, pk=operation_id.lower()).first()
    if op is None:
        raise GraphProblem(
            404, "itemNotFound", f"Operation '{operation_id}' not found on this call."
        )
    return JsonResponse(payloads.operation_resource(op, PROFILE_OF_VERSION[version]))


@graph_route("GET", "POST", "PUT", "PATCH", "DELETE")
def unknown_segment(request: HttpRequest, version: str, rest: str):
    segment = next((part for part in reversed(rest.split("/")) if part), rest)
    raise GraphProblem(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


# --- Azure AD -------------------------------------------------------------------------------


def _aad_error(status: int, error: str, code: int, description: str) -> JsonResponse:
    trace = str(uuid.uuid4())
    now = datetime.now(UTC)
    return JsonResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
            f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [code],
            "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
        },
        status=status,
    )


def _basic_credentials(request: HttpRequest) -> tuple[str, str]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return "", ""
    return unquote(user), unquote(password)


@csrf_exempt
def token(request: HttpRequest, tenant: str) -> HttpResponse:
    if request.method != "POST":
        return _aad_error(
            405, "invalid_request", 900561, "The endpoint only accepts POST requests."
        )
    if tenant != settings.EMULATOR_TENANT_ID:
        return _aad_error(
            400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check the tenant id."
        )
    form = request.POST
    if form.get("grant_type") != "client_credentials":
        return _aad_error(
            400,
            "unsupported_grant_type",
            70003,
            "The emulator supports only the client_credentials grant.",
        )
    basic_id, basic_secret = _basic_credentials(request)
    client_id = form.get("client_id") or basic_id
    secret = form.get("client_secret") or basic_secret
    if client_id != settings.EMULATOR_CLIENT_ID:
        return _aad_error(
            401,
            "invalid_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
        )
    if not secret or not hmac.compare_digest(
        secret.encode(), settings.EMULATOR_CLIENT_SECRET.encode()
    ):
        return _aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is "
            "the client secret value, not the client secret ID.",
        )
    scopes = form.get("scope", "").split()
    if f"{signing.GRAPH_AUDIENCE}/.default" not in scopes:
        return _aad_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {form.get('scope', '')!r} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the resource "
            "identifier (https://graph.microsoft.com/.default).",
        )
    return JsonResponse(
        {
            "token_type": "Bearer",
            "expires_in": signing.APP_TOKEN_SECONDS,
            "ext_expires_in": signing.APP_TOKEN_SECONDS,
            "access_token": signing.issue_app_token(client_id=client_id, tenant=tenant),
        }
    )


def openid_configuration(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "issuer": signing.NOTIFICATION_ISSUER,
            "jwks_uri": request.build_absolute_uri(reverse("graph_emulator:keys")),
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }
    )


def keys(request: HttpRequest) -> JsonResponse:
    return JsonResponse(signing.jwks())


# --- Media and recordings -------------------------------------------------------------------


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
    given = _bearer(request)
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


# --- Control (the emulator's own, no Graph token) --------------------------------------------


def _control_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "BadRequest", "message": message}}, status=status)


def _control_body(request: HttpRequest) -> dict | JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _control_error(400, "The body must be JSON.")
    if not isinstance(body, dict):
        return _control_error(400, "The body must be a JSON object.")
    return body


@csrf_exempt
def control_faults(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse(faults.active_faults())
    if request.method == "DELETE":
        faults.clear_faults()
        return HttpResponse(status=204)
    if request.method != "POST":
        return _control_error(405, "Use GET, POST or DELETE.")
    body = _control_body(request)
    if isinstance(body, JsonResponse):
        return body
    try:
        return JsonResponse(faults.set_faults(**body))
    except FaultError as err:
        return _control_error(400, str(err))


def _call_summary(call: Call) -> dict:
    return {
        "id": call.id,
        "state": call.state,
        "caller": call.caller,
        "script": call.script,
        "callback": call.callback_url,
        "createdDateTime": payloads.timestamp(call.created_at),
    }


@csrf_exempt
def control_calls(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse({"value": [_call_summary(c) for c in Call.objects.all()[:50]]})
    if request.method != "POST":
        return _control_error(405, "Use GET or POST.")
    body = _control_body(request)
    if isinstance(body, JsonResponse):
        return body
    script, caller, callback = body.get("script", ""), body.get("caller"), body.get("callback")
    if not all(isinstance(v, str | None) for v in (script, caller, callback)):
        return _control_error(400, "script, caller and callback must be strings.")
    try:
        call = services.place_call(
            script=script or "", caller=caller or "", callback_url=callback or ""
        )
    except (ScriptError, NotLoopback, ValueError) as err:
        return _control_error(400, f"{err}")
    # From a thread: in the embedded set-up the callback is this very server, which may
    # have only one worker to answer it.
    services.announce_call(call, wait=False)
    return JsonResponse(_call_summary(call), status=201)


@csrf_exempt
def control_recordings(request: HttpRequest) -> HttpResponse:
    """Make a completed recording of a given length at once, for benchmarking downloads."""
    if request.method != "POST":
        return _control_error(405, "Use POST.")
    body = _control_body(request)
    if isinstance(body, JsonResponse):
        return body
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return _control_error(400, "seconds must be a number.")

    def location_for(op_id: str) -> str:
        return request.build_absolute_uri(reverse("graph_emulator:recording", args=[op_id]))

    try:
        op = services.make_bench_recording(seconds=float(seconds), location_for=location_for)
    except ValueError as err:
        return _control_error(400, str(err))
    path = services.recording_path(op)
    return JsonResponse(
        {
            "id": op.id,
            "recordingLocation": op.recording_location,
            "recordingAccessToken": op.access_token,
            "seconds": op.recording_seconds,
            "bytes": path.stat().st_size,
        },
        status=201,
    )


@csrf_exempt
def control_deliveries(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return _control_error(405, "Use GET.")
    deliveries = Delivery.objects.order_by("id")
    if call_id := request.GET.get("call"):
        deliveries = deliveries.filter(call_id=call_id)
    else:
        deliveries = deliveries.reverse()[:200]
    return JsonResponse(
        {
            "value": [
                {
                    "id": d.id,
                    "call": d.call_id,
                    "operation": d.operation_id,
                    "summary": d.summary,
                    "status": d.status,
                    "httpStatus": d.http_status,
                    "attempts": d.attempts,
                    "duplicate": d.duplicate,
                    "error": d.error,
                    "createdDateTime": payloads.timestamp(d.created_at),
                    "payload": d.payload,
                }
                for d in deliveries
            ]
        }
    )
