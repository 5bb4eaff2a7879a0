"""What keeps the operator's pages current without a reload: small routes that live.js asks
about once a second while something on the page is running or being fetched, and stops
asking once nothing is.

`GET <operations list>/live/?ids=1,2,3` answers the cells of those operations as JSON (the
same cells the page drew, from `recordings.admin.operation_columns`), `&detail=1` adds the
operation page's audio section; `<calls list>/live/?ids=` does the same for calls. Each
answer carries an ETag made of the ids and the newest updated_at among the rows: asked again
with If-None-Match while nothing moved, the route answers 304 with no body. One request costs
the same few queries however large the tables grow: the rows by primary key, nothing else.
"""

import hashlib
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from recordings import display, selectors
from recordings.admin import operation_chart
from recordings.admin.operation_columns import (
    audio_cell,
    audio_url,
    finished_text,
    is_active,
    live,
    operation_active,
    reason_cell,
    reason_detail,
    retention_cell,
    retention_text,
)
from recordings.models import Call, FetchStatus, RecordOperation

__all__ = ["live"]  # the cell wrapper, for the admins that draw live cells

# A page shows at most a page of rows; more ids than that are not a page's.
MAX_IDS = 200
# The chart counts are cached a minute; when a row on the list ends, the list asks for fresh
# ones, but all the open lists together recompute them at most this often.
CHART_FRESH_SECONDS = 2


def parse_ids(raw: str) -> list[int]:
    ids = {int(part) for part in raw.split(",") if part.strip().isdigit()}
    return sorted(ids)[:MAX_IDS]


def etag_of(*parts: object) -> str:
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def conditional(request: HttpRequest, etag: str, build: Callable[[], dict]) -> HttpResponse:
    """304 when the page already has this state, else the JSON `build` makes."""
    if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
        response = HttpResponseNotModified()
    else:
        response = JsonResponse(build())
    response["ETag"] = etag
    # Always asked again: the state changes on its own, not when the page changes.
    response["Cache-Control"] = "private, no-cache"
    return response


def stamps_of(values: Iterable) -> list[str]:
    """Every row's updated_at, so any row that moved changes the tag (the newest alone would
    do for rows written in order; all of them cost nothing more to hash)."""
    return sorted(str(value) for value in values if value)


# --- Operations -------------------------------------------------------------------------------


def audio_section_context(operation: RecordOperation, *, download: bool) -> dict:
    """What the operation page's audio section shows: where fetching stands, the facts of
    the file, its waveform and, with the download permission, the player."""
    recording = selectors.recording_of(operation)
    state, detail = display.fetch_state(recording)
    stored = recording is not None and recording.status == FetchStatus.STORED
    playable = stored and recording.is_playable and download
    return {
        "operation": operation,
        "recording": recording,
        "fetch_state": state,
        "fetch_detail": detail,
        "audio_src": audio_url(operation.pk) if playable else None,
        "download_url": audio_url(operation.pk, download=True) if playable else None,
        "recording_duration": display.duration_text(recording.duration_seconds)
        if recording
        else "",
        "recording_size": display.size_text(recording.size_bytes) if recording else "",
        "recording_level": display.level_text(recording.peak_dbfs, recording.rms_dbfs)
        if recording
        else "",
        # Recorder drew this SVG itself from the samples when it stored the file: the one
        # value on these pages trusted as markup.
        "waveform": mark_safe(recording.waveform_svg)  # noqa: S308
        if stored and recording.waveform_svg
        else "",
        "retention": retention_text(operation, recording),
    }


def operation_cells(operation: RecordOperation, *, download: bool, detail: bool) -> dict:
    recording = selectors.recording_of(operation)
    cells = {
        "status": str(
            display.status_badge(
                operation.status, operation.completion_reason, operation.cancelled_by
            )
        ),
        "reason": reason_cell(operation.completion_reason, operation.recorder_reason),
        "audio": audio_cell(operation, download=download),
        "retention": retention_cell(operation, recording),
    }
    if detail:
        cells["reason_detail"] = reason_detail(operation)
        cells["finished_at"] = finished_text(operation)
        cells["audio_section"] = render_to_string(
            "admin/recordings/live/operation_audio.html",
            audio_section_context(operation, download=download),
        )
    return {
        "cells": {str(k): str(v) for k, v in cells.items()},
        "active": operation_active(operation),
    }


def operations_view(model_admin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    ids = parse_ids(request.GET.get("ids", ""))
    detail = request.GET.get("detail") == "1"
    download = model_admin.has_download_permission(request)
    operations = list(
        RecordOperation.objects.filter(pk__in=ids).select_related("call", "recording").order_by()
    )
    stamps = [op.updated_at for op in operations]
    stamps += [r.updated_at for r in map(selectors.recording_of, operations) if r]
    etag = etag_of("op", ids, [op.pk for op in operations], stamps_of(stamps), detail, download)

    def build() -> dict:
        rows = {
            str(op.pk): operation_cells(op, download=download, detail=detail) for op in operations
        }
        return {"rows": rows, "active": any(row["active"] for row in rows.values())}

    return conditional(request, etag, build)


def operations_url(*, detail: bool = False) -> str:
    url = reverse("admin:recordings_recordoperation_live")
    return f"{url}?detail=1" if detail else url


def chart_view(model_admin, request: HttpRequest) -> HttpResponse:
    """The chart of completion reasons again, recounted when a row on the list has ended."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    if request.GET.get("fresh") == "1" and cache.add(
        "recordings:reason-counts:fresh", 1, CHART_FRESH_SECONDS
    ):
        # The windows an index range counts; all time reads every row (600 ms at a million)
        # and stays at most a minute old.
        cache.delete_many(
            [
                f"recordings:reason-counts:{key}"
                for key, _, span in operation_chart.CHART_WINDOWS
                if span is not None
            ]
        )
    chart = operation_chart.reason_chart(reverse("admin:recordings_recordoperation_changelist"))
    html = (
        render_to_string("admin/recordings/recordoperation/reason_chart.html", {"chart": chart})
        if chart
        else ""
    )
    return JsonResponse({"html": html})


# --- Calls ------------------------------------------------------------------------------------


def latest_active(latest: dict | None) -> bool:
    return bool(latest) and is_active(latest["status"], latest.get("fetch"))


def call_cells(model_admin, call: Call, *, detail: bool) -> dict:
    cells = {
        "state": call.get_state_display(),
        "latest_status": model_admin.latest_status_html(call),
        "latest_reason": model_admin.latest_reason_html(call),
        "duration": model_admin.duration_text(call),
        "recording_length": model_admin.recording_length_text(call),
    }
    if detail:
        cells["recordings_on_call"] = model_admin.recordings_on_call_html(call)
    return {
        "cells": {k: str(v) for k, v in cells.items()},
        "active": latest_active(call.latest_operation),
    }


def calls_view(model_admin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    ids = parse_ids(request.GET.get("ids", ""))
    detail = request.GET.get("detail") == "1"
    calls = list(
        Call.objects.filter(pk__in=ids)
        .annotate(latest_operation=selectors.latest_operation())
        .order_by()
    )
    stamps = [call.updated_at for call in calls]
    for call in calls:
        latest = call.latest_operation or {}
        stamps += [latest.get("updated_at"), latest.get("recording_updated_at")]
    etag = etag_of("call", ids, [call.pk for call in calls], stamps_of(stamps), detail)

    def build() -> dict:
        rows = {str(call.pk): call_cells(model_admin, call, detail=detail) for call in calls}
        return {"rows": rows, "active": any(row["active"] for row in rows.values())}

    return conditional(request, etag, build)


def calls_url(*, detail: bool = False) -> str:
    url = reverse("admin:recordings_call_live")
    return f"{url}?detail=1" if detail else url
