"""Record operations: the list with its chart of completion reasons, the operation page with
the parameters sent and a timeline of every exchange with Graph, cancelling, legal hold and
CSV export.

Built to stay fast on a year of data (a million operations): every list query is served by an
index of RecordOperation (one per filter, each with the default sort behind it), no count
walks the whole table, and nothing asks the database for DISTINCT over it.
"""

import csv
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import BinaryField, BooleanField, Count, Func, Max, Min, Q, QuerySet, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from recordings.admin.base import ReadOnlyAdmin
from recordings.graph.http import REDACTED, SECRET_FIELDS, redact
from recordings.models import (
    Call,
    FetchStatus,
    GraphExchange,
    Notification,
    Recording,
    RecordOperation,
)
from recordings.services import errors as service_errors
from recordings.services import recordings as recording_services
from recordings.services import retention as retention_services

Reason = RecordOperation.CompletionReason
RecorderReason = RecordOperation.RecorderReason

# --- Shared by the operation and notification pages ------------------------------------------

# Payload values that are credentials: the names the Graph seam already keeps out of its
# exchange log. Notifications are stored raw, so pages hide the same names again on display.
SECRET_IN_TEXT = re.compile(
    r'("(?:' + "|".join(map(re.escape, sorted(SECRET_FIELDS))) + r')"\s*:\s*)"(?:[^"\\]|\\.)*"'
)


def pretty_payload(payload: Any, *, secrets: Iterable[str] = ()) -> str:
    """A payload (decoded JSON, JSON text, or any text) indented for reading, credentials
    redacted. Text that is not JSON is redacted by pattern; known secret values (such as the
    operation's own access token) are removed wherever they appear, as a second guard."""
    if payload in (None, "", b""):
        return ""
    if isinstance(payload, bytes | memoryview):
        payload = bytes(payload).decode("utf-8", errors="replace")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            text = SECRET_IN_TEXT.sub(rf'\1"{REDACTED}"', payload)
            return _without(text, secrets)
    text = json.dumps(redact(payload), indent=2, ensure_ascii=False)
    return _without(text, secrets)


def _without(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class CappedCountPaginator(Paginator):
    """Counts at most CAP + 1 rows, so a page of a million-row list costs what a page of a
    thousand does. The admin's COUNT(*) over the whole filtered table is the one query whose
    time grows with the table; past the cap the list says "more than 10,000" and operators
    narrow it with filters and dates (pages that deep are of no use anyway)."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        # Without ORDER BY, the database stops at the first CAP + 1 matching rows.
        return self.object_list.order_by()[: self.CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.CAP


class BytesContain(Func):
    """True where a binary column holds `needle` (bytes): instr() on SQLite, position() on
    PostgreSQL. Both compare bytes, so a body that is not valid UTF-8 can't break the query
    (a cast to text would raise on PostgreSQL, and its LIKE on bytea matches the hex form)."""

    output_field = BooleanField()

    def __init__(self, expression, needle: bytes):
        super().__init__(expression, Value(needle, output_field=BinaryField()))

    def as_sql(self, compiler, connection, **extra):
        column, column_params = compiler.compile(self.source_expressions[0])
        needle, needle_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            return f"position({needle} in {column}) > 0", (*needle_params, *column_params)
        return f"instr({column}, {needle}) > 0", (*column_params, *needle_params)


# --- Reasons, statuses and the audio: how each is shown ---------------------------------------

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
    RecorderReason.CALL_ENDED: "warn",
    RecorderReason.OVERDUE: "error",
}
NO_REASON = "No reason yet"


def reason_key(completion_reason: str, recorder_reason: str) -> str:
    # Recorder's own reason wins, as in RecordOperation.completion_reason_label.
    return recorder_reason or completion_reason


def reason_label(key: str) -> str:
    if not key:
        return NO_REASON
    for choices in (RecorderReason, Reason):
        if key in choices.values:
            return choices(key).label
    return key  # a value Graph sent that its documentation does not list


def known_reasons() -> list[tuple[str, str]]:
    """The completion reason filter's choices: Graph's documented reasons, then Recorder's.
    Built from the code, never from a DISTINCT over the table."""
    return [*Reason.choices, *[(v, label) for v, label in RecorderReason.choices if v]]


def recording_of(operation: RecordOperation) -> Recording | None:
    try:
        return operation.recording
    except ObjectDoesNotExist:
        return None


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


def audio_url(operation: RecordOperation, *, download: bool = False) -> str | None:
    # The route belongs to the recordings' web URLs; if a deployment leaves it out, the pages
    # still render, without player or link.
    try:
        url = reverse("recordings:recording-audio", args=[operation.pk])
    except NoReverseMatch:
        return None
    return f"{url}?download=1" if download else url


def can_download(request: HttpRequest) -> bool:
    return request.user.has_perm("recordings.download_recording")


def compact_time(value: datetime | None) -> str:
    """Local time to the second, e.g. 2026-11-30 08:55:27: narrow enough for a list column."""
    if value is None:
        return "—"
    return formats.date_format(timezone.localtime(value), "Y-m-d H:i:s")


def short_id(value: str) -> str:
    return value[:8] + "…" if len(value) > 12 else value


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


# --- The chart of completion reasons ----------------------------------------------------------

CHART_WINDOWS = (
    ("24h", "Last 24 hours", timedelta(hours=24)),
    ("7d", "Last 7 days", timedelta(days=7)),
    ("all", "All time", None),
)
# The all-time count reads every row (a year of operations is a million); a minute-old figure
# is as good for spotting a trend, so each window is computed at most once a minute.
CHART_CACHE_SECONDS = 60


def reason_counts(since: datetime | None) -> dict[str, int]:
    """Operations per completion reason created since `since` (all when None): one GROUP BY,
    the created_at range served by the created_at index."""
    queryset = RecordOperation.objects.order_by()
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    counts: dict[str, int] = {}
    rows = queryset.values_list("completion_reason", "recorder_reason").annotate(n=Count("pk"))
    for completion_reason, recorder_reason, n in rows:
        key = reason_key(completion_reason, recorder_reason)
        counts[key] = counts.get(key, 0) + n
    return counts


def cached_reason_counts(window: str, since: datetime | None) -> dict[str, int]:
    return cache.get_or_set(
        f"recordings:reason-counts:{window}", lambda: reason_counts(since), CHART_CACHE_SECONDS
    )


CHART_LABEL_WIDTH = 230
CHART_COLUMN_WIDTH = 200
CHART_ROW_HEIGHT = 22
CHART_HEADER_HEIGHT = 34


def reason_chart(changelist_url: str, now: datetime | None = None) -> dict | None:
    """Everything the chart template draws, as numbers: one row per reason seen in any
    window, one column per window, each bar scaled to its own column's largest count."""
    now = now or timezone.now()
    windows = [
        (key, title, cached_reason_counts(key, now - span if span else None))
        for key, title, span in CHART_WINDOWS
    ]
    seen = set().union(*(counts for _, _, counts in windows))
    if not seen:
        return None
    order = [value for value, _ in known_reasons()]
    keys = [k for k in order if k in seen]
    keys += sorted(k for k in seen if k not in order and k)  # undocumented values, as sent
    keys += [""] if "" in seen else []

    bar_room = CHART_COLUMN_WIDTH - 60  # leaves space for the count after the longest bar
    columns = []
    for index, (key, title, counts) in enumerate(windows):
        peak = max(counts.values(), default=0)
        x = CHART_LABEL_WIDTH + index * CHART_COLUMN_WIDTH
        columns.append(
            {
                "key": key,
                "title": title,
                "total": sum(counts.values()),
                "x": x,
                "bars": [
                    {
                        "count": counts.get(reason, 0),
                        "width": round(bar_room * counts.get(reason, 0) / peak, 1) if peak else 0,
                        "text_x": x + 4 + (bar_room * counts.get(reason, 0) / peak if peak else 0),
                    }
                    for reason in keys
                ],
            }
        )
    rows = []
    for position, reason in enumerate(keys):
        y = CHART_HEADER_HEIGHT + position * CHART_ROW_HEIGHT
        rows.append(
            {
                "key": reason,
                "label": reason_label(reason),
                "raw": reason or "(none yet)",
                "tone": REASON_TONE.get(reason, "muted"),
                "y": y,
                "link": f"{changelist_url}?completion_reason={reason}" if reason else "",
                "cells": [
                    {**column["bars"][position], "x": column["x"], "key": column["key"]}
                    for column in columns
                ],
            }
        )
    return {
        "columns": columns,
        "rows": rows,
        "width": CHART_LABEL_WIDTH + len(columns) * CHART_COLUMN_WIDTH,
        "height": CHART_HEADER_HEIGHT + len(keys) * CHART_ROW_HEIGHT + 4,
        "as_of": now,
        "cache_seconds": CHART_CACHE_SECONDS,
    }


# --- The date hierarchy, bounded --------------------------------------------------------------


def bounded_date_hierarchy(cl) -> dict:
    """The admin's date drill-down, without its DISTINCT over the table.

    Django lists the years (months, days) that hold rows with SELECT DISTINCT date_trunc(...)
    over every matching row: a full scan of a year of operations. Here one MIN/MAX (two index
    probes) bounds the range, and every period between the bounds is offered; a period with
    no operation then shows an empty list, which costs less than scanning to hide it.
    """
    field = cl.date_hierarchy
    params = {part: cl.params.get(f"{field}__{part}") for part in ("year", "month", "day")}
    try:
        year, month, day = (int(v) if v else None for v in params.values())
        if year and month and day:
            date(year, month, day)
    except (TypeError, ValueError):
        return {"show": False}  # a hand-made date that does not exist: the list is empty

    def link(**lookups) -> str:
        return cl.get_query_string({f"{field}__{k}": v for k, v in lookups.items()}, [f"{field}__"])

    def title(value: date, fmt: str) -> str:
        return capfirst(formats.date_format(value, fmt))

    if year and month and day:
        picked = date(year, month, day)
        return {
            "show": True,
            "back": {
                "link": link(year=year, month=month),
                "title": title(picked, "YEAR_MONTH_FORMAT"),
            },
            "choices": [{"title": title(picked, "MONTH_DAY_FORMAT")}],
        }
    bounds = cl.queryset.order_by().aggregate(first=Min(field), last=Max(field))
    if not (bounds["first"] and bounds["last"]):
        return {"show": False}
    first, last = (timezone.localtime(v).date() for v in (bounds["first"], bounds["last"]))
    if not year and first.year == last.year:
        year = first.year
    if year and not month and first.year == last.year and first.month == last.month:
        month = first.month
    if year and month:
        days = (date(year, month, d) for d in range(first.day, last.day + 1))
        return {
            "show": True,
            "back": {"link": link(year=year), "title": str(year)},
            "choices": [
                {
                    "link": link(year=year, month=month, day=d.day),
                    "title": title(d, "MONTH_DAY_FORMAT"),
                }
                for d in days
            ],
        }
    if year:
        return {
            "show": True,
            "back": {"link": link(), "title": "All dates"},
            "choices": [
                {
                    "link": link(year=year, month=m),
                    "title": title(date(year, m, 1), "YEAR_MONTH_FORMAT"),
                }
                for m in range(first.month, last.month + 1)
            ],
        }
    return {
        "show": True,
        "choices": [
            {"link": link(year=y), "title": str(y)} for y in range(first.year, last.year + 1)
        ],
    }


# --- Filters and search -----------------------------------------------------------------------


class CompletionReasonFilter(admin.SimpleListFilter):
    title = "completion reason"
    parameter_name = "completion_reason"

    def lookups(self, request, model_admin):
        return known_reasons()

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value in RecorderReason.values:
            return queryset.filter(recorder_reason=value)
        # Graph's reason, where Recorder did not override it (what the list shows).
        return queryset.filter(completion_reason=value, recorder_reason="")


SEARCH_MAX_MATCHES = 1000


def search_operations(queryset: QuerySet, term: str) -> QuerySet:
    """Whole ids, in any letter case, where the admin's default (icontains) would scan a
    year of operations on every search.

    The matching keys are found first, each way by its own small query (the graph id by its
    case-insensitive unique index, the call by its own and then its operations by the call
    index, the client context), and the list then filters on those keys. Put as one OR into
    the list's query instead, PostgreSQL walks the whole created_at index for the few
    matches: seconds at a million rows.
    """
    term = term.strip()
    if not term:
        return queryset
    ids = RecordOperation.objects.order_by().values_list("pk", flat=True)
    calls = Call.objects.with_graph_id(term).order_by().values("pk")
    ways = (
        ids.filter(Exact(Lower("graph_id"), term.lower())),
        ids.filter(call__in=calls),
        ids.filter(client_context=term),
    )
    matches = set().union(*(way[:SEARCH_MAX_MATCHES] for way in ways))
    return queryset.filter(pk__in=matches)


# --- CSV ----------------------------------------------------------------------------------------

# (header, field path). Never the access token: the export leaves Recorder.
CSV_COLUMNS = (
    ("operation id", "graph_id"),
    ("status", "status"),
    ("completion reason", "completion_reason"),
    ("recorder reason", "recorder_reason"),
    ("result code", "result_code"),
    ("result subcode", "result_subcode"),
    ("result message", "result_message"),
    ("profile", "profile"),
    ("call id", "call__graph_id"),
    ("caller", "call__caller_id"),
    ("requested by", "record_request__requested_by__username"),
    ("client context", "client_context"),
    ("created at", "created_at"),
    ("finished at", "finished_at"),
    ("audio", "recording__status"),
    ("duration seconds", "recording__duration_seconds"),
    ("size bytes", "recording__size_bytes"),
    ("legal hold", "legal_hold"),
)
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_rows(queryset: QuerySet) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _ in CSV_COLUMNS])
    rows = queryset.values_list(*(field for _, field in CSV_COLUMNS))
    # iterator(): rows stream from a server-side cursor, never all in memory at once.
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow([_csv_cell(value) for value in row])


def csv_response(queryset: QuerySet) -> StreamingHttpResponse:
    name = f"record-operations-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- The operation page: parameters sent and the timeline ---------------------------------------

# Notifications have no key to operations (one POST may name several), so the timeline finds
# them by the operation id in the body. That is a substring test, which no index serves: it
# is bounded to the operation's lifetime, from a little before the request was saved (Graph
# may answer before Recorder has stored its own request's outcome) to a while after it
# finished (late duplicates), which the received_at index serves. Only the notifications of
# those minutes are read, however large the table grows. A very late redelivery falls
# outside the window and is still in the notification log.
TIMELINE_BEFORE = timedelta(minutes=1)
TIMELINE_AFTER = timedelta(minutes=15)
TIMELINE_MAX_NOTIFICATIONS = 200


def notifications_for(operation: RecordOperation) -> QuerySet:
    start = operation.record_request.requested_at - TIMELINE_BEFORE
    end = (operation.finished_at or timezone.now()) + TIMELINE_AFTER
    # Graph ids come in more than one letter case across payload eras.
    needles = {operation.graph_id, operation.graph_id.lower(), operation.graph_id.upper()}
    mentions = reduce(or_, (Q(BytesContain("body", n.encode())) for n in sorted(needles)))
    return (
        Notification.objects.filter(received_at__range=(start, end))
        .filter(mentions)
        .order_by("received_at", "pk")[:TIMELINE_MAX_NOTIFICATIONS]
    )


def _notification_summary(notification: Notification, graph_id: str) -> str:
    """What a POST said about this operation, e.g. "deleted: completed, stopToneDetected"."""
    try:
        items = json.loads(bytes(notification.body)).get("value", [])
    except (ValueError, AttributeError):
        return "unreadable body"
    said = []
    for item in items if isinstance(items, list) else []:
        data = item.get("resourceData") if isinstance(item, dict) else None
        for resource in data if isinstance(data, list) else [data]:
            if isinstance(resource, dict) and str(resource.get("id", "")).lower() == (
                graph_id.lower()
            ):
                parts = [resource.get("status"), resource.get("completionReason")]
                said.append(
                    f"{item.get('changeType', '?')}: " + ", ".join(str(p) for p in parts if p)
                )
    others = len(items) - len(said) if isinstance(items, list) else 0
    text = "; ".join(said) or "mentions this operation"
    return text + (f" (and {others} other item{'s' if others != 1 else ''})" if others else "")


HEADER_IDS = (
    ("client-request-id", "HTTP_CLIENT_REQUEST_ID"),
    ("request-id", "HTTP_REQUEST_ID"),
    ("scenario-id", "HTTP_SCENARIO_ID"),
)


def operation_timeline(operation: RecordOperation) -> tuple[list[dict], bool]:
    """Every outbound request and every notification about the operation, oldest first.
    Returns the entries and whether notifications were cut at the cap."""
    secrets = [operation.recording_access_token]
    entries = []
    exchanges = GraphExchange.objects.filter(
        Q(operation=operation) | Q(record_request_id=operation.record_request_id)
    ).order_by("started_at", "pk")
    for exchange in exchanges:
        outcome = (
            str(exchange.response_status)
            if exchange.response_status
            else ("no answer" if exchange.error else "waiting for an answer")
        )
        entries.append(
            {
                "at": exchange.started_at,
                "direction": "out",
                "kind": f"{exchange.method} {exchange.action}",
                "outcome": outcome,
                "failed": bool(exchange.error) or (exchange.response_status or 0) >= 400,
                "ids": [
                    ("client-request-id", str(exchange.client_request_id)),
                    ("request-id", exchange.graph_request_id),
                ],
                "url": exchange.url,
                "attempts": exchange.attempts,
                "error": exchange.error,
                "sent": pretty_payload(exchange.request_body, secrets=secrets),
                "answer": pretty_payload(exchange.response_body, secrets=secrets),
                "admin_url": reverse("admin:recordings_graphexchange_change", args=[exchange.pk]),
            }
        )
    notifications = list(notifications_for(operation))
    for notification in notifications:
        entries.append(
            {
                "at": notification.received_at,
                "direction": "in",
                "kind": "Notification",
                "outcome": _notification_summary(notification, operation.graph_id),
                "failed": bool(notification.error),
                "ids": [
                    (label, notification.headers.get(header, "")) for label, header in HEADER_IDS
                ],
                "error": notification.error,
                "received": pretty_payload(notification.body, secrets=secrets),
                "admin_url": reverse(
                    "admin:recordings_notification_change", args=[notification.pk]
                ),
            }
        )
    entries.sort(key=lambda entry: entry["at"])
    return entries, len(notifications) == TIMELINE_MAX_NOTIFICATIONS


def _yes_no(value: bool | None, default: str) -> str:
    if value is None:
        return f"not sent (Graph's default: {default})"
    return "yes" if value else "no"


def _seconds(value: int | None, default: str) -> str:
    if value is None:
        return f"not sent (Graph's default: {default})"
    return f"{value} s"


def parameters_sent(operation: RecordOperation) -> dict:
    """The record request as the operator chose it, in words, and the body as sent."""
    request = operation.record_request
    prompts = []
    for prompt in request.prompts.all():
        if prompt.kind == prompt.Kind.SILENCE:
            prompts.append(f"Silence, {prompt.duration_ms} ms")
        else:
            loop = f", played {prompt.loop} times" if prompt.loop else ""
            prompts.append(f"Media {prompt.uri}{loop}")
    rows = [
        ("Profile", request.get_profile_display()),
        ("Prompts", prompts),
        ("Play beep", _yes_no(request.play_beep, "yes")),
        ("Barge-in allowed", _yes_no(request.barge_in_allowed, "no")),
        ("Initial silence timeout", _seconds(request.initial_silence_timeout, "5 s")),
        ("Max silence timeout", _seconds(request.max_silence_timeout, "5 s")),
        ("Max record duration", _seconds(request.max_record_duration, "5 s")),
        ("Stop tones", " ".join(request.stop_tones) if request.stop_tones else "none"),
        ("Client context", request.client_context),
    ]
    if request.stream_while_recording is not None:
        rows.append(("Stream while recording", _yes_no(request.stream_while_recording, "no")))
    if request.recording_format:
        rows.append(("Recording format", request.recording_format))
    return {"rows": rows, "body": pretty_payload(request.body_sent)}


# --- Legal hold -------------------------------------------------------------------------------


def set_legal_hold(request: HttpRequest, queryset: QuerySet, *, on: bool) -> int:
    """Put the operations in `queryset` on legal hold (or release them); one admin log entry
    per operation that changed. Returns how many changed."""
    return retention_services.set_legal_hold(operations=queryset, on=on, by=request.user)


def _operations(n: int) -> str:
    return f"{n} operation{'s' if n != 1 else ''}"


# --- The admin ----------------------------------------------------------------------------------


@admin.register(RecordOperation)
class RecordOperationAdmin(ReadOnlyAdmin):
    list_display = [
        "status_badge",
        "operation",
        "reason",
        "audio",
        "call_link",
        "requested_by",
        "when",
    ]
    list_display_links = ["operation"]
    list_filter = ["status", CompletionReasonFilter, "profile"]
    date_hierarchy = "created_at"
    # Searched by get_search_results (whole ids, index lookups); listed so the box shows.
    search_fields = ["graph_id", "call__graph_id", "client_context"]
    search_help_text = "Paste a whole operation id, call id or client context."
    list_select_related = ["call", "record_request__requested_by", "recording"]
    ordering = ["-created_at"]
    # Only the column an index sorts; the others would sort a million rows.
    sortable_by = ["when"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    actions = ["export_selected_csv", "put_on_legal_hold", "release_legal_hold"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "graph_id",
                    "status_badge",
                    "reason_detail",
                    "result",
                    "call_detail",
                    "requested_by",
                    "client_context",
                    "profile",
                    "created_at",
                    "finished_at",
                    "legal_hold",
                ]
            },
        ),
    ]
    readonly_fields = [
        "status_badge",
        "reason_detail",
        "result",
        "call_detail",
        "requested_by",
    ]

    class Media:
        css = {"all": ["recordings/operations.css"]}

    # -- pages

    def get_urls(self):
        opts = self.opts
        name = f"{opts.app_label}_{opts.model_name}"
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name=f"{name}_export",
            ),
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name=f"{name}_cancel",
            ),
            path(
                "<path:object_id>/legal-hold/",
                self.admin_site.admin_view(self.legal_hold_view),
                name=f"{name}_legal_hold",
            ),
            *super().get_urls(),
        ]

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if can_download(request):
            columns[columns.index("audio")] = "audio_or_download"
        return columns

    def get_search_results(self, request, queryset, search_term):
        return search_operations(queryset, search_term), False

    def changelist_view(self, request, extra_context=None):
        changelist_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        extra_context = {
            "title": "Record operations",
            **(extra_context or {}),
            "reason_chart": reason_chart(changelist_url),
            "export_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_export"),
        }
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl") if response else None
        if cl is not None:
            response.context_data["bounded_date_hierarchy"] = bounded_date_hierarchy(cl)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        operation = self.get_object(request, unquote(object_id))
        if operation is not None:
            extra_context = {**(extra_context or {}), **self.page_context(request, operation)}
        return super().change_view(request, object_id, form_url, extra_context)

    def page_context(self, request: HttpRequest, operation: RecordOperation) -> dict:
        recording = recording_of(operation)
        state, detail = fetch_state(recording)
        stored = recording is not None and recording.status == FetchStatus.STORED
        playable = stored and recording.is_playable and can_download(request)
        timeline, timeline_capped = operation_timeline(operation)
        return {
            "operation": operation,
            "recording": recording,
            "fetch_state": state,
            "fetch_detail": detail,
            "audio_src": audio_url(operation) if playable else None,
            "download_url": audio_url(operation, download=True) if playable else None,
            "recording_duration": duration_text(recording.duration_seconds) if recording else "",
            "recording_size": size_text(recording.size_bytes) if recording else "",
            # Recorder drew this SVG itself from the samples when it stored the file: the one
            # value on these pages trusted as markup.
            "waveform": mark_safe(recording.waveform_svg)  # noqa: S308
            if stored and recording.waveform_svg
            else "",
            "parameters": parameters_sent(operation),
            "timeline": timeline,
            "timeline_capped": timeline_capped,
            "timeline_max": TIMELINE_MAX_NOTIFICATIONS,
            "can_cancel": self.has_cancel_permission(request) and not operation.is_final,
            "can_hold": self.has_legal_hold_permission(request),
        }

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        operation = self.get_object(request, unquote(object_id))
        if operation is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        page = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[operation.pk]
        )
        if operation.is_final:
            self.message_user(
                request,
                "This recording has already ended, so there is nothing to cancel.",
                messages.WARNING,
            )
            return HttpResponseRedirect(page)
        if request.method == "POST":
            try:
                recording_services.cancel_recording(operation=operation, by=request.user)
            except service_errors.RecordingRefused as err:
                self.message_user(request, str(err), messages.ERROR)
            except service_errors.GraphActionFailed as err:
                self.message_user(request, err.message, messages.ERROR)
            else:
                self.log_change(request, operation, "Asked Graph to cancel the recording.")
                self.message_user(
                    request,
                    "Graph was asked to cancel the recording. The operation ends when Graph "
                    "confirms it; this page shows it then.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(page)
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel this recording?",
            "subtitle": None,
            "opts": self.opts,
            "operation": operation,
            "page_url": page,
            "has_view_permission": self.has_view_permission(request, operation),
        }
        return TemplateResponse(
            request, "admin/recordings/recordoperation/cancel_confirmation.html", context
        )

    def legal_hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_legal_hold_permission(request):
            raise PermissionDenied
        operation = self.get_object(request, unquote(object_id))
        if operation is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        page = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[operation.pk]
        )
        if request.method != "POST":
            return HttpResponseRedirect(page)
        on = request.POST.get("legal_hold") == "on"
        set_legal_hold(request, self.get_queryset(request).filter(pk=operation.pk), on=on)
        self.message_user(
            request,
            "The operation is on legal hold: retention keeps its audio until the hold is released."
            if on
            else "The legal hold is released: retention treats this audio like any other.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(page)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The current list, its filters, search and dates applied, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            cl = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            self.message_user(
                request,
                "Those filters no longer apply; clear them and export again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        return csv_response(cl.queryset)

    # -- permissions

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.cancel_recording")

    def has_legal_hold_permission(self, request: HttpRequest) -> bool:
        # Setting the flag is the one change operators make to an operation.
        return request.user.has_perm(f"{self.opts.app_label}.change_recordoperation")

    # -- actions

    @admin.action(description="Export selected operations to CSV", permissions=["view"])
    def export_selected_csv(self, request, queryset):
        return csv_response(queryset.order_by("-created_at", "-pk"))

    @admin.action(description="Put on legal hold", permissions=["legal_hold"])
    def put_on_legal_hold(self, request, queryset):
        changed = set_legal_hold(request, queryset, on=True)
        self.message_user(request, f"Put {_operations(changed)} on legal hold.", messages.SUCCESS)

    @admin.action(description="Release legal hold", permissions=["legal_hold"])
    def release_legal_hold(self, request, queryset):
        changed = set_legal_hold(request, queryset, on=False)
        self.message_user(
            request, f"Released {_operations(changed)} from legal hold.", messages.SUCCESS
        )

    # -- columns

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: RecordOperation):
        return format_html(
            '<span class="op-badge op-status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description="operation")
    def operation(self, obj: RecordOperation):
        return format_html(
            '<span class="op-id" title="{}">{}</span>', obj.graph_id, short_id(obj.graph_id)
        )

    @admin.display(description="completion reason")
    def reason(self, obj: RecordOperation):
        key = reason_key(obj.completion_reason, obj.recorder_reason)
        if not key:
            return "—"
        return format_html(
            '<span class="op-reason op-tone-{}" title="{}">{}</span>',
            REASON_TONE.get(key, "muted"),
            key,
            reason_label(key),
        )

    @admin.display(description="completion reason")
    def reason_detail(self, obj: RecordOperation):
        key = reason_key(obj.completion_reason, obj.recorder_reason)
        if not key:
            return NO_REASON
        raw = [obj.completion_reason and f"Graph: {obj.completion_reason}"]
        raw.append(obj.recorder_reason and f"Recorder: {obj.recorder_reason}")
        return format_html(
            '{} <span class="op-raw">({})</span>', reason_label(key), "; ".join(r for r in raw if r)
        )

    @admin.display(description="result")
    def result(self, obj: RecordOperation):
        if obj.result_code is None:
            return "—"
        code = f"{obj.result_code}/{obj.result_subcode}" if obj.result_subcode else obj.result_code
        return format_html("{} {}", code, obj.result_message)

    @admin.display(description="call")
    def call_link(self, obj: RecordOperation):
        url = reverse("admin:recordings_call_change", args=[obj.call_id])
        return format_html(
            '<a href="{}" class="op-id" title="{}">{}</a>',
            url,
            obj.call.graph_id,
            short_id(obj.call.graph_id),
        )

    @admin.display(description="created", ordering="created_at")
    def when(self, obj: RecordOperation):
        return compact_time(obj.created_at)

    @admin.display(description="call")
    def call_detail(self, obj: RecordOperation):
        call = obj.call
        return format_html(
            '<a href="{}" class="op-id">{}</a> <span class="op-raw">({}{})</span>',
            reverse("admin:recordings_call_change", args=[call.pk]),
            call.graph_id,
            call.get_state_display(),
            f", caller {call.caller_id}" if call.caller_id else "",
        )

    @admin.display(description="asked by")
    def requested_by(self, obj: RecordOperation):
        user = obj.record_request.requested_by
        return user.get_username() if user else "—"

    @admin.display(description="recording")
    def audio(self, obj: RecordOperation):
        return self._audio(obj, download=False)

    @admin.display(description="recording")
    def audio_or_download(self, obj: RecordOperation):
        return self._audio(obj, download=True)

    def _audio(self, obj: RecordOperation, *, download: bool):
        """The recorded duration and, once stored, a Download link; else where fetching
        stands (the reason on hover)."""
        recording = recording_of(obj)
        if recording is None:
            return "—"
        if recording.status == FetchStatus.STORED:
            url = audio_url(obj, download=True) if download and recording.is_playable else None
            duration = duration_text(recording.duration_seconds)
            if url:
                return format_html(
                    '{} <a href="{}" class="op-download" title="Download the WAV">Download</a>',
                    duration,
                    url,
                )
            return duration
        state, detail = fetch_state(recording)
        tone = "error" if recording.status == FetchStatus.FAILED else "muted"
        return format_html(
            '<span class="op-fetch op-tone-{}" title="{}">{}</span>', tone, detail, state
        )


@admin.register(GraphExchange)
class GraphExchangeAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "action", "method", "response_status", "attempts", "error"]
    list_filter = ["action", "response_status"]
    search_fields = ["client_request_id", "graph_request_id"]
    list_per_page = 100
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    # Bodies are shown redacted: a get-operation answer carries the recording token.
    exclude = ["request_body", "response_body"]
    readonly_fields = ["sent", "answer"]

    @admin.display(description="request body")
    def sent(self, obj: GraphExchange):
        return format_html('<pre class="op-payload">{}</pre>', pretty_payload(obj.request_body))

    @admin.display(description="response body")
    def answer(self, obj: GraphExchange):
        secrets = [obj.operation.recording_access_token] if obj.operation_id else []
        return format_html(
            '<pre class="op-payload">{}</pre>', pretty_payload(obj.response_body, secrets=secrets)
        )
