"""How Recorder shows what it knows, wherever it shows it: the admin's pages, the models' own
labels and the `record` command all read reasons, states, durations, sizes, ids and times
here, so each reads the same everywhere.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from recordings import audio
from recordings.graph import PayloadError, parse_notifications
from recordings.models import Call, FetchStatus, OperationStatus, Recording, RecordOperation

Reason = RecordOperation.CompletionReason
RecorderReason = RecordOperation.RecorderReason

# --- Why a recording ended ---------------------------------------------------------------

# How each reason reads at a glance (the colour of its bar): a usable recording, the caller
# said nothing or left, cancelled or no reason, or something failed.
REASON_TONE = {
    Reason.STOP_TONE_DETECTED: "ok",
    Reason.MAX_RECORD_DURATION_REACHED: "ok",
    Reason.MAX_SILENCE_TIMEOUT: "ok",
    Reason.INITIAL_SILENCE_TIMEOUT: "warn",
    Reason.CALL_TERMINATED: "warn",
    Reason.OPERATION_CANCELED: "muted",
    Reason.NONE: "muted",
    Reason.PLAY_PROMPT_FAILED: "error",
    Reason.PLAY_BEEP_FAILED: "error",
    Reason.MEDIA_RECEIVE_TIMEOUT: "error",
    Reason.UNSPECIFIED_ERROR: "error",
    RecorderReason.CALLER_HUNG_UP: "warn",
    RecorderReason.OPERATOR_ENDED: "muted",
    RecorderReason.NO_KEEPALIVE: "error",
    RecorderReason.CALL_ENDED: "warn",
    RecorderReason.OVERDUE: "error",
}
NO_REASON = "No reason yet"


def reason_key(completion_reason: str, recorder_reason: str) -> str:
    """The one reason an operation shows, as a raw value ("" while there is none): the
    model's rule, RecordOperation.shown_reason (Recorder's own reason wins)."""
    return RecordOperation.shown_reason(completion_reason, recorder_reason)


def reason_label(key: str) -> str:
    """A reason (as `reason_key` gives it) in words."""
    return RecordOperation.reason_in_words(key) if key else NO_REASON


def reason_tone(key: str) -> str:
    return REASON_TONE.get(key, "muted")


def known_reasons() -> list[tuple[str, str]]:
    """Every reason Recorder knows, in the order pages list them: Graph's documented reasons,
    then Recorder's. Built from the code, never from a DISTINCT over the table."""
    return [*Reason.choices, *[(v, label) for v, label in RecorderReason.choices if v]]


# --- How a call ended ----------------------------------------------------------------------


def call_end(call: Call) -> SafeString | str:
    """Who ended the call in words, Graph's resultInfo on hover; "—" while it is live."""
    if not call.ended_by:
        return "—"
    return format_html('<span title="{}">{}</span>', call.end_code, call.get_ended_by_display())


# Graph's toneInfo names for the keys, as the keypad shows them.
TONE_KEYS = {
    **{f"tone{n}": str(n) for n in range(10)},
    "star": "*",
    "pound": "#",
    **{letter: letter.upper() for letter in "abcd"},
    "flash": "flash",
}


def tone_key(tone: str) -> str:
    return TONE_KEYS.get(tone, tone)


# --- Operation status ----------------------------------------------------------------------


# Graph's notStarted: Graph queues media operations and starts one when the running one ends.
QUEUED = "Queued"


def status_label(status: str) -> str:
    if status == OperationStatus.NOT_STARTED:
        return QUEUED
    return OperationStatus(status).label if status in OperationStatus.values else status


def is_cancelled(status: str, completion_reason: str) -> bool:
    """Graph ends a cancelled recording as failed/operationCanceled: not a failure to show."""
    return status == OperationStatus.FAILED and completion_reason == Reason.OPERATION_CANCELED


def status_words(status: str, completion_reason: str = "", cancelled_by: str = "") -> str:
    """The status in words; a cancel reads as one, with the operator who asked for it."""
    if is_cancelled(status, completion_reason):
        return f"Cancelled by {cancelled_by}" if cancelled_by else "Cancelled"
    return status_label(status)


def status_badge(status: str, completion_reason: str = "", cancelled_by: str = "") -> SafeString:
    """The status as a coloured badge: the same on the operations list and the call list. A
    cancel is drawn in a neutral colour, not as a failure."""
    tone = "cancelled" if is_cancelled(status, completion_reason) else status
    return format_html(
        '<span class="op-badge op-status-{}">{}</span>',
        tone,
        status_words(status, completion_reason, cancelled_by),
    )


# --- Graph's result codes --------------------------------------------------------------------

# Graph's resultInfo (code, subcode) in words, for the pairs Recorder has seen or Graph
# documents; any other pair shows Graph's own message.
RESULT_CODES: dict[tuple[int, int], str] = {
    (200, 8515): "Maximum duration reached",
    (400, 8508): "Cancelled",
    (200, 5001): "The call ended",
    (200, 5002): "The call ended",
    (408, 5002): "Not answered in time",
    (408, 8537): "Timed out waiting for the caller's audio",
    (7000, 10550): "The call could not be kept up",
}


def result_code_text(code: int | None, subcode: int | None) -> str:
    """The code as Graph gives it: "200/8515", or "200" without a subcode."""
    if code is None:
        return ""
    return f"{code}/{subcode}" if subcode else str(code)


def result_html(code: int | None, subcode: int | None, message: str) -> SafeString | str:
    """A resultInfo in words, with Graph's code and message on hover."""
    if code is None:
        return "—"
    words = RESULT_CODES.get((code, subcode or 0)) or message or "Graph gave no explanation"
    raw = result_code_text(code, subcode)
    title = f"{raw}: {message}" if message and message != words else raw
    return format_html('<span class="op-result" title="{}">{}</span>', title, words)


def legal_hold_text(on_hold: bool) -> str:
    return "On hold" if on_hold else "Not on hold"


# --- Recorder's copy of the audio ------------------------------------------------------------


def fetch_state(recording: Recording | None) -> tuple[str, str]:
    """(label, detail) for where Recorder's copy of the audio stands."""
    if recording is None:
        return "", ""
    if recording.status == FetchStatus.FAILED:
        if recording.link_expired_at:
            return "Link expired or refused", recording.error or (
                "Graph no longer serves this recording; its audio is lost."
            )
        return "Fetch failed", recording.error
    if recording.status == FetchStatus.PENDING:
        detail = "Recorder will try again." if recording.attempts else ""
        return "Waiting to fetch", recording.error or detail
    labels = {
        FetchStatus.FETCHING: "Fetching",
        FetchStatus.STORED: "Stored",
        FetchStatus.PURGED: "Purged after the retention period",
    }
    return labels.get(recording.status, recording.status), ""


# Peak levels (dBFS) at or below which a recording reads as silent, very quiet, quiet.
LEVEL_WORDS = ((-60.0, "Silent"), (-40.0, "Very quiet"), (-20.0, "Quiet"))


def level_text(peak_dbfs: float | None, rms_dbfs: float | None) -> str:
    """How loud a recording is, in words and numbers: "Silent (peak -63 dBFS, RMS -70 dBFS)"."""
    if peak_dbfs is None:
        return ""
    words = next((word for limit, word in LEVEL_WORDS if peak_dbfs <= limit), "Audible")

    def level(value: float) -> str:
        return "digital silence" if value <= audio.DBFS_FLOOR else f"{value:.0f} dBFS"

    numbers = f"peak {level(peak_dbfs)}"
    if rms_dbfs is not None:
        numbers += f", RMS {level(rms_dbfs)}"
    return f"{words} ({numbers})"


def fetch_tone(recording: Recording) -> str:
    return "error" if recording.status == FetchStatus.FAILED else "muted"


# --- Numbers, ids and times ------------------------------------------------------------------


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def size_text(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def short_id(value: str) -> str:
    return value[:8] + "…" if len(value) > 12 else value


def time_text(value: datetime | None, *, precise: bool = False) -> str:
    """A moment in TIME_ZONE, as every page writes it: 2026-11-30 08:55:27 UTC (the
    DATETIME_FORMAT of recorder_site/formats, which the admin's own fields use too), or
    2026-11-30 08:55:27.042 UTC when precise."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    if not precise:
        return formats.date_format(local, "DATETIME_FORMAT")
    # To the millisecond, where the order of exchanges matters (an operation's timeline).
    second = formats.date_format(local, "Y-m-d H:i:s")
    return f"{second}.{local.microsecond // 1000:03d} {formats.date_format(local, 'T')}"


def compact_time(value: datetime | None) -> str:
    """A list column's moment: the same as everywhere else."""
    return time_text(value)


# --- What a notification said ----------------------------------------------------------------

UNREADABLE = "unreadable body"


@dataclass(frozen=True)
class NotificationItem:
    """One resource a notification spoke of, in words."""

    change_type: str
    # "operation", "call", or "" for anything else (participants...).
    kind: str
    # The operation's or the call's Graph id.
    id: str = ""
    # "completed, stopToneDetected" for an operation, the state for a call.
    state: str = ""
    # What the item is about when it is neither: its @odata.type or resource URL.
    resource: str = ""

    @property
    def text(self) -> str:
        if self.kind == "operation":
            return f"{self.change_type} operation {short_id(self.id)}: {self.state}"
        if self.kind == "call":
            return f"{self.change_type} call {short_id(self.id)}: {self.state or '?'}"
        return f"{self.change_type} {self.resource}"


@dataclass(frozen=True)
class NotificationSummary:
    items: tuple[NotificationItem, ...] = ()
    readable: bool = True

    def lines(self) -> list[tuple[str, str]]:
        """(words, operation id or "") per item: the notification log's "about" column."""
        if not self.readable:
            return [(UNREADABLE, "")]
        return [(item.text, item.id if item.kind == "operation" else "") for item in self.items]

    def about(self, operation_id: str) -> str:
        """What it said of one operation: an operation's timeline, e.g.
        "deleted: completed, stopToneDetected (and 1 other item)"."""
        if not self.readable:
            return UNREADABLE
        mine = [
            item
            for item in self.items
            if item.kind == "operation" and item.id.lower() == operation_id.lower()
        ]
        text = "; ".join(f"{item.change_type}: {item.state}" for item in mine)
        others = len(self.items) - len(mine)
        return (text or "mentions this operation") + (
            f" (and {others} other item{'s' if others != 1 else ''})" if others else ""
        )


def summarize_notification(body: bytes | memoryview) -> NotificationSummary:
    """What a stored POST said, read with the parser that applies it."""
    try:
        parsed = parse_notifications(bytes(body))
    except (ValueError, PayloadError):
        return NotificationSummary(readable=False)
    items = []
    for item in parsed:
        if item.operation is not None:
            words = (item.operation.status, item.operation.completion_reason)
            items.append(
                NotificationItem(
                    change_type=item.change_type,
                    kind="operation",
                    id=item.operation.id or item.operation_id,
                    state=", ".join(w for w in words if w),
                )
            )
        elif item.call is not None:
            items.append(
                NotificationItem(
                    change_type=item.change_type,
                    kind="call",
                    id=item.call_id,
                    state=item.call.state,
                )
            )
        else:
            items.append(
                NotificationItem(
                    change_type=item.change_type,
                    kind="",
                    resource=item.odata_type or item.resource_url,
                )
            )
    return NotificationSummary(items=tuple(items))
