"""Serving stored recordings to operators: permission-checked, seekable, downloadable.

The admin's player and Download link point here (`recordings:recording-audio`). Range
requests let the browser's <audio> seek without fetching the whole file; in production
nginx can send the bytes itself (`RECORDING_X_ACCEL_REDIRECT`), after Django has checked
the permission.
"""

from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_safe
from werkzeug.http import parse_range_header

from recordings import permissions
from recordings.models import FetchStatus, Recording

CHUNK_BYTES = 256 * 1024
AUDIO_TYPE = "audio/wav"


@require_safe
@login_required(login_url="admin:login")
@permission_required(permissions.DOWNLOAD_RECORDING, raise_exception=True)
def recording_audio(request: HttpRequest, pk: int) -> HttpResponse:
    """The audio of operation `pk`: inline for the player, or `?download=1` as a file."""
    recording = get_object_or_404(
        Recording.objects.select_related("operation"), operation_id=pk, status=FetchStatus.STORED
    )
    if not recording.file:
        raise Http404("This recording has no stored file.")
    disposition = content_disposition_header(
        as_attachment=request.GET.get("download") == "1", filename=download_name(recording)
    )

    if settings.RECORDING_X_ACCEL_REDIRECT:
        # nginx serves the file (Range included) from its internal location; Django only
        # decided who may have it.
        response = HttpResponse(content_type=AUDIO_TYPE)
        response["X-Accel-Redirect"] = settings.RECORDING_X_ACCEL_REDIRECT.rstrip("/") + (
            "/" + quote(recording.file.name)
        )
        response["Content-Disposition"] = disposition
        return response

    size = recording.size_bytes if recording.size_bytes is not None else recording.file.size
    header = request.headers.get("Range")
    span = (0, size)
    status = 200
    if header:
        wanted = byte_range(header, size)
        if wanted is False:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            response["Accept-Ranges"] = "bytes"
            return response
        if wanted is not None:
            span, status = wanted, 206

    start, stop = span
    handle = recording.file.open("rb")
    handle.seek(start)
    response = StreamingHttpResponse(
        _chunks(handle, stop - start), status=status, content_type=AUDIO_TYPE
    )
    response["Content-Length"] = str(stop - start)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = disposition
    # Private: an operator's permission decided this answer, no shared cache may keep it.
    response["Cache-Control"] = "private, max-age=3600"
    if recording.sha256:
        response["ETag"] = f'"{recording.sha256}"'
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return response


def byte_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """The one byte span a Range header asks for, as (start, stop).

    None: serve the whole file (not a bytes range, or several ranges, which a server may
    answer in full). False: a bytes range that can't be satisfied (answer 416).
    """
    unit = header.split("=", 1)[0].strip().lower()
    if unit != "bytes":
        return None
    parsed = parse_range_header(header)
    if parsed is None:
        return False
    if len(parsed.ranges) > 1:
        return None
    span = parsed.range_for_length(size)
    return span if span is not None else False


def download_name(recording: Recording) -> str:
    operation = recording.operation
    when = operation.finished_at or operation.created_at
    stamp = when.strftime("%Y%m%d-%H%M%S") if when else "unknown"
    return get_valid_filename(f"recording-{stamp}-{operation.pk}.wav")


def _chunks(handle: BinaryIO, length: int) -> Iterator[bytes]:
    try:
        while length > 0:
            chunk = handle.read(min(CHUNK_BYTES, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()
