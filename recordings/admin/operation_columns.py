"""The cells the operations list, the operation page, the calls list and the call page show
for an operation, and that `recordings.admin.live` sends again as they change.

One function per cell serves the page and the live update, so the two always agree. A cell
the page keeps up to date is wrapped in a span naming its row and field
(`data-live="op:12:status"`); live.js swaps that span's content for what the live route
answers.
"""

from datetime import timedelta

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from recordings import display, selectors
from recordings.models import FetchStatus, Recording, RecordOperation

# Where the audio is still on its way: the page keeps asking until it has arrived.
FETCH_MOVING = (FetchStatus.PENDING, FetchStatus.FETCHING)


def audio_url(operation_pk: int, *, download: bool = False) -> str | None:
    # The route belongs to the recordings' web URLs; if a deployment leaves it out, the pages
    # still render, without player or link.
    try:
        url = reverse("recordings:recording-audio", args=[operation_pk])
    except NoReverseMatch:
        return None
    return f"{url}?download=1" if download else url


def live(kind: str, pk: int, field: str, html: str, *, url: str = "", active: bool = False):
    """`html` in the span live.js finds by row and field. The row's status cell also carries
    the live route (`url`) and whether the row is still moving (`active`)."""
    return format_html(
        '<span data-live="{}:{}:{}"{}{}>{}</span>',
        kind,
        pk,
        field,
        format_html(' data-live-url="{}"', url) if url else "",
        SafeString(" data-live-active") if active else "",
        html,
    )


def id_with_copy(value: str, *, href: str = "") -> SafeString:
    """An id shortened as the lists show it, the whole id on hover and in a copy button."""
    short = display.short_id(value)
    shown = (
        format_html('<a href="{}" class="op-id" title="{}">{}</a>', href, value, short)
        if href
        else format_html('<span class="op-id" title="{}">{}</span>', value, short)
    )
    if short == value:
        return shown
    return format_html(
        '{}<button type="button" class="op-copy" data-copy="{}" title="Copy the whole id" '
        'aria-label="Copy the whole id {}"></button>',
        shown,
        value,
        value,
    )


# --- Whether a row is still moving ------------------------------------------------------------


def is_active(status: str, fetch_status: str | None) -> bool:
    """Running, or its audio still on its way: something the page should keep showing."""
    if status not in RecordOperation.FINAL_STATUSES:
        return True
    return fetch_status in FETCH_MOVING


def operation_active(operation: RecordOperation) -> bool:
    recording = selectors.recording_of(operation)
    return is_active(operation.status, recording.status if recording else None)


# --- Cells ------------------------------------------------------------------------------------


def reason_cell(completion_reason: str, recorder_reason: str) -> str:
    key = display.reason_key(completion_reason or "", recorder_reason or "")
    if not key:
        return "—"
    return format_html(
        '<span class="op-reason op-tone-{}" title="{}">{}</span>',
        display.reason_tone(key),
        key,
        display.reason_label(key),
    )


def reason_detail(operation: RecordOperation) -> str:
    key = display.reason_key(operation.completion_reason, operation.recorder_reason)
    if not key:
        return display.NO_REASON
    raw = [operation.completion_reason and f"Graph: {operation.completion_reason}"]
    raw.append(operation.recorder_reason and f"Recorder: {operation.recorder_reason}")
    return format_html(
        '{} <span class="op-raw">({})</span>',
        display.reason_label(key),
        "; ".join(r for r in raw if r),
    )


def audio_cell(operation: RecordOperation, *, download: bool) -> str:
    """The recorded duration and, once stored, a small player and a Download link (with the
    download permission); else where fetching stands (the reason on hover)."""
    recording = selectors.recording_of(operation)
    if recording is None:
        return "—"
    if recording.status == FetchStatus.STORED:
        duration = display.duration_text(recording.duration_seconds)
        url = audio_url(operation.pk) if download and recording.is_playable else None
        if url:
            return format_html(
                '{} <audio controls preload="none" src="{}" class="op-list-player" '
                'aria-label="Play the recording of operation {}"></audio> '
                '<a href="{}?download=1" class="op-download" title="Download the WAV">'
                "Download</a>",
                duration,
                url,
                display.short_id(operation.graph_id),
                url,
            )
        return duration
    state, detail = display.fetch_state(recording)
    return format_html(
        '<span class="op-fetch op-tone-{}" title="{}">{}</span>',
        display.fetch_tone(recording),
        detail,
        state,
    )


def retention_text(operation: RecordOperation, recording: Recording | None) -> str:
    """How long Recorder keeps the audio: until when, or when it was purged, or that a legal
    hold keeps it."""
    if recording is None:
        return "—"
    if recording.status == FetchStatus.PURGED:
        when = recording.purged_at or recording.updated_at
        return f"purged on {formats.date_format(timezone.localtime(when), 'Y-m-d')}"
    if recording.status != FetchStatus.STORED:
        return "—"
    if operation.legal_hold:
        return "kept: legal hold"
    stored = recording.stored_at or recording.created_at
    until = stored + timedelta(days=settings.RECORDING_RETENTION_DAYS)
    return f"audio kept until {formats.date_format(timezone.localtime(until), 'Y-m-d')}"


def finished_text(operation: RecordOperation) -> str:
    """As the page writes its other times (the admin's DATETIME_FORMAT)."""
    if operation.finished_at is None:
        return "-"
    return formats.date_format(timezone.localtime(operation.finished_at), "DATETIME_FORMAT")


def retention_cell(operation: RecordOperation, recording: Recording | None) -> str:
    """The list's narrow form under its "audio kept" heading ("until 2027-01-01"), the whole
    sentence on hover."""
    text = retention_text(operation, recording)
    short = text.removeprefix("audio kept ").removeprefix("kept: ")
    return format_html('<span title="{}">{}</span>', text, short) if short != text else text


def caller_text(caller_id: str, caller_name: str) -> str:
    if caller_name and caller_id:
        return f"{caller_name} ({caller_id})"
    return caller_name or caller_id or "—"
