"""Downloading the selected operations' recordings as one zip, with a manifest CSV inside.

The zip is written as it is sent: each WAV is copied from storage in chunks into a
ZIP_STORED entry (audio does not compress) and handed to the response piece by piece, so
neither memory nor a temporary file ever holds the whole archive, however many recordings
are chosen. zipfile writes to a stream it cannot seek by putting each entry's sizes and CRC
after its data.
"""

import csv
import io
import zipfile
from collections.abc import Iterator

from django.contrib import admin, messages
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from recordings import display
from recordings.admin.operation_columns import caller_text
from recordings.models import Recording

CHUNK = 256 * 1024
MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = [
    "operation id",
    "call",
    "caller",
    "reason",
    "duration (s)",
    "sha256",
    "file name",
]


class _Pipe(io.RawIOBase):
    """What zipfile writes into; the response takes out what has been written so far."""

    def __init__(self) -> None:
        self.pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.pending += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self.pending)
        self.pending.clear()
        return out


def entry_name(recording: Recording) -> str:
    return f"{recording.operation.graph_id}.wav"


def manifest_row(recording: Recording) -> list[str]:
    operation = recording.operation
    return [
        operation.graph_id,
        operation.call.graph_id,
        caller_text(operation.call.caller_id, operation.call.caller_name),
        operation.completion_reason_label,
        "" if recording.duration_seconds is None else f"{recording.duration_seconds:.3f}",
        recording.sha256,
        entry_name(recording),
    ]


def zip_stream(recordings: list[Recording]) -> Iterator[bytes]:
    pipe = _Pipe()
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(MANIFEST_COLUMNS)
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED) as archive:
        for recording in recordings:
            info = zipfile.ZipInfo(entry_name(recording), date_time=_zip_time(recording))
            info.compress_type = zipfile.ZIP_STORED
            with (
                recording.file.open("rb") as source,
                archive.open(info, "w", force_zip64=True) as entry,
            ):
                while chunk := source.read(CHUNK):
                    entry.write(chunk)
                    yield pipe.take()
            yield pipe.take()
            writer.writerow(manifest_row(recording))
        archive.writestr(MANIFEST_NAME, manifest.getvalue().encode())
    yield pipe.take()


def _zip_time(recording: Recording) -> tuple[int, int, int, int, int, int]:
    when = timezone.localtime(recording.stored_at or recording.created_at)
    return (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)


@admin.action(permissions=["download"], description="Download the selected recordings (zip)")
def download_selected_zip(model_admin, request: HttpRequest, queryset):
    recordings = [
        recording
        for recording in Recording.objects.filter(operation__in=queryset.order_by().values("pk"))
        .select_related("operation__call")
        .order_by("operation__created_at")
        if recording.is_playable
    ]
    if not recordings:
        model_admin.message_user(
            request,
            "None of the selected operations has its audio stored here; choose operations "
            "whose recording column shows a duration.",
            messages.WARNING,
        )
        return None
    response = StreamingHttpResponse(zip_stream(recordings), content_type="application/zip")
    stamp = display.compact_time(timezone.now()).replace(" ", "-").replace(":", "")
    response["Content-Disposition"] = f'attachment; filename="recordings-{stamp}.zip"'
    return response
