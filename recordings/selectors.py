"""The reads the operator pages need: counts, searches, an operation's timeline and each
call's latest operation.

Built to stay fast on a year of data (a million operations): each query here is served by an
index of its table, and none walks the whole table for a page.
"""

from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import (
    BinaryField,
    BooleanField,
    Count,
    Func,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import JSONObject, Lower
from django.db.models.lookups import Exact
from django.utils import timezone

from recordings.display import reason_key
from recordings.models import (
    Call,
    CallTone,
    GraphExchange,
    MediaOperation,
    Notification,
    OperationStatus,
    PromptAudio,
    Recording,
    RecordOperation,
)
from recordings.prompt_files import stored_name

# --- Counts -----------------------------------------------------------------------------------


def reason_counts(*, since: datetime | None) -> dict[str, int]:
    """Operations per completion reason (as `display.reason_key` gives it) created since
    `since` (all when None): one GROUP BY, the created_at range served by its index."""
    queryset = RecordOperation.objects.order_by()
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    counts: dict[str, int] = {}
    rows = queryset.values_list("completion_reason", "recorder_reason").annotate(n=Count("pk"))
    for completion_reason, recorder_reason, n in rows:
        key = reason_key(completion_reason, recorder_reason)
        counts[key] = counts.get(key, 0) + n
    return counts


# --- Searches ---------------------------------------------------------------------------------

SEARCH_MAX_MATCHES = 1000
# The lists show ids by their first 8 characters: a prefix at least this long is searched as
# one (a shorter one would match too many ids to be of use).
SEARCH_MIN_PREFIX = 4


class StartsWith(Func):
    """True where `expression` (a LOWER(...) value) starts with `prefix`, in the one shape an
    index serves on each database: LIKE 'prefix%' on PostgreSQL (the text_pattern_ops index
    of migration 0006), and a range on SQLite, whose LIKE ignores an expression index but
    whose binary-ordered LOWER(graph_id) index serves a range exactly."""

    output_field = BooleanField()

    def __init__(self, expression, prefix: str):
        self.prefix = prefix
        super().__init__(expression)

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            escaped = self.prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return f"{column} LIKE %s", (*params, escaped + "%")
        return f"({column} >= %s AND {column} < %s)", (
            *params,
            self.prefix,
            *params,
            self.prefix + "\U0010ffff",
        )


def graph_id_prefix(term: str) -> Q:
    """Rows whose Graph id starts with `term` (the shortened id the lists show, its "…"
    left out), in any letter case."""
    prefix = term.rstrip("…").rstrip(".").lower()
    if len(prefix) < SEARCH_MIN_PREFIX:
        return Q(Exact(Lower("graph_id"), prefix))
    return Q(StartsWith(Lower("graph_id"), prefix))


def caller_numbers(term: str) -> list[str]:
    """The caller's number as Graph may have stored it, with and without the "+"."""
    digits = term.replace(" ", "").replace("-", "").lstrip("+")
    if not digits.isdigit():
        return []
    return [digits, f"+{digits}"]


def matching_calls(term: str) -> QuerySet:
    """Calls by a prefix of their id or by the caller's whole number, with or without the
    "+", each through an index (the call id's LOWER prefix index, caller_id's)."""
    term = term.strip()
    calls = Call.objects.order_by().filter(graph_id_prefix(term))
    numbers = caller_numbers(term)
    if numbers:
        calls = calls | Call.objects.order_by().filter(caller_id__in=numbers)
    return calls


def search_operations(queryset: QuerySet, term: str) -> QuerySet:
    """Operations by a prefix of their id (as the list shows it) or the whole id, in any
    letter case; by their call (a prefix of its id, or the caller's number with or without
    the "+"); or by client context. The admin's default (icontains) would scan a year of
    operations on every search.

    The matching keys are found first, each way by its own small query (the graph id by its
    LOWER prefix index, the calls by theirs and then their operations by the call index, the
    client context by its own), and the list then filters on those keys. Put as one OR into
    the list's query instead, PostgreSQL walks the whole created_at index for the few
    matches: seconds at a million rows.
    """
    term = term.strip()
    if not term:
        return queryset
    ids = RecordOperation.objects.order_by().values_list("pk", flat=True)
    calls = list(matching_calls(term).values_list("pk", flat=True)[:SEARCH_MAX_MATCHES])
    ways = [
        ids.filter(graph_id_prefix(term)),
        ids.filter(client_context=term),
    ]
    if calls:
        ways.append(ids.filter(call__in=calls))
    matches = set().union(*(way[:SEARCH_MAX_MATCHES] for way in ways))
    return queryset.filter(pk__in=matches)


def search_calls(queryset: QuerySet, term: str) -> QuerySet:
    """A call by a prefix of its id or its whole id, in any letter case (through the LOWER
    prefix index), or by the caller's whole number with or without the "+" (through the
    caller_id index). Only when neither finds a call is the term looked for as part of the
    caller's number or name: that scans the calls (a quarter of the operations; 0.8 s at a
    million operations), so a pasted id or number never pays for it."""
    term = term.strip()
    if not term:
        return queryset
    found = list(matching_calls(term).values_list("pk", flat=True)[:SEARCH_MAX_MATCHES])
    if found:
        return queryset.filter(pk__in=found)
    return queryset.filter(
        Q(caller_id__icontains=term.lstrip("+")) | Q(caller_name__icontains=term)
    )


# --- A call's operations ----------------------------------------------------------------------


def latest_operation() -> Subquery:
    """The call's newest operation as one small JSON value, for each row of the list.

    One correlated subquery a row, answered by the (call, -created_at) index with a LIMIT 1:
    the list pays for its page of rows, never for the million operations behind them.
    """
    newest = RecordOperation.objects.filter(call=OuterRef("pk")).order_by("-created_at")
    return Subquery(
        newest.values(
            data=JSONObject(
                pk="pk",
                status="status",
                completion_reason="completion_reason",
                recorder_reason="recorder_reason",
                updated_at="updated_at",
                # The recording's row is the operation's one-to-one: a join, not a query.
                fetch="recording__status",
                recording_seconds="recording__duration_seconds",
                recording_updated_at="recording__updated_at",
                cancelled_by="cancelled_by",
            )
        )[:1],
        output_field=JSONField(),
    )


def latest_of(call: Call) -> dict | None:
    """The call's newest operation as `latest_operation` gives it, for one call."""
    return (
        Call.objects.filter(pk=call.pk)
        .annotate(latest=latest_operation())
        .values_list("latest", flat=True)
        .first()
    )


def active_operation(call: Call) -> RecordOperation | None:
    """The call's recording that is running or queued (notStarted), if any: the newest."""
    return (
        call.operations.exclude(status__in=RecordOperation.FINAL_STATUSES)
        .order_by("-created_at")
        .first()
    )


def recent_operations(call: Call, *, limit: int = 10) -> list[RecordOperation]:
    return list(call.operations.order_by("-created_at")[:limit])


def call_timeline(call: Call, *, limit: int = 50) -> list[MediaOperation | CallTone]:
    """The call's prompts played, key subscriptions and keys pressed, oldest first."""
    media = list(call.media_operations.order_by("-created_at")[:limit])
    tones = list(call.tones.order_by("-sequence_id")[:limit])
    events = sorted(
        [*media, *tones],
        key=lambda e: e.created_at if isinstance(e, MediaOperation) else e.received_at,
    )
    return events[-limit:]


def running_operation(call: Call) -> RecordOperation | None:
    """The call's running recording, the one whose end starts what Graph queued behind it."""
    return call.operations.filter(status=OperationStatus.RUNNING).order_by("-created_at").first()


def recording_of(operation: RecordOperation) -> Recording | None:
    try:
        return operation.recording
    except ObjectDoesNotExist:
        return None


# --- An operation's timeline ------------------------------------------------------------------


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
    """The notifications that name the operation, oldest first, at most
    TIMELINE_MAX_NOTIFICATIONS."""
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


def exchanges_for(operation: RecordOperation) -> QuerySet:
    """Every request Recorder sent Graph for the operation, its record request included."""
    return GraphExchange.objects.filter(
        Q(operation=operation) | Q(record_request_id=operation.record_request_id)
    ).order_by("started_at", "pk")


def library_prompts(urls: list[str]) -> dict[str, PromptAudio]:
    """The library prompts among these URLs (those at PROMPT_BASE_URL), by URL: one query."""
    names = {url: stored_name(url) for url in urls}
    wanted = {name for name in names.values() if name}
    if not wanted:
        return {}
    by_name = {prompt.file.name: prompt for prompt in PromptAudio.objects.filter(file__in=wanted)}
    return {url: by_name[name] for url, name in names.items() if name in by_name}
