"""Record operations: the one function that moves an operation's status, moving it by Graph's
word, and closing what Graph never finishes (asking Graph first)."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from recordings import graph_setup
from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import (
    GraphClient,
    GraphError,
    GraphNotFoundError,
    ParsedOperation,
)
from recordings.graph.vocabulary import RECORD_RESULT_REASONS
from recordings.models import Call, CallState, MediaOperation, OperationStatus, RecordOperation
from recordings.prepared import PreparedUpdate, update_returning
from recordings.services import fetching as fetch_services
from recordings.services import states

logger = logging.getLogger(__name__)


def move_operation(operations: QuerySet | str, *, to: str, now: datetime, **changes) -> bool:
    """Move the operation in `operations` to status `to`, with `changes`; True if it moved.

    `operations` is a QuerySet, or Graph's id of the operation: the notification path's
    statement, prepared once (recordings/prepared.py) since every notification sends it.

    One conditional UPDATE: it matches only while the stored status ranks below `to`, so
    final is final, a status never moves back, and of two moves at once exactly one happens
    (the database re-checks the condition under the row lock). A completion makes the
    operation's Recording row in the same transaction, from what the UPDATE returned.
    """
    changes = {**changes, "status": to, "updated_at": now}
    if to in RecordOperation.FINAL_STATUSES:
        changes["finished_at"] = now
    if isinstance(operations, str):
        args = (operations.lower(),)
        if to == OperationStatus.COMPLETED:
            # The move, the Recording row and its queued fetch, one statement where it can be.
            moved = fetch_services.complete_expecting_recording(
                _MOVE_BY_GRAPH_ID, changes, shape=(to,), args=args
            )
            if moved is not None:
                return bool(moved)
        moved = _MOVE_BY_GRAPH_ID.run(changes, shape=(to,), args=args)
    else:
        moved = update_returning(
            _before(operations, to), changes, returning=_MOVE_BY_GRAPH_ID.returning
        )
    if to == OperationStatus.COMPLETED:
        for operation_pk, recording_location in moved:
            fetch_services.expect_recording(
                operation_pk=operation_pk, recording_location=recording_location
            )
    return bool(moved)


def _before(operations: QuerySet, to: str) -> QuerySet:
    """The operations in `operations` whose status may still move to `to`."""
    return operations.filter(status__in=states.operation_statuses_before(to))


# The same statement for the operation Graph's id names, compiled once for each status and
# set of changes.
_MOVE_BY_GRAPH_ID = PreparedUpdate(
    RecordOperation,
    lambda rows, to, lowered_id: _before(rows.with_lowered_graph_id(lowered_id), to),
    returning=("id", "recording_location"),
)


def advance_operation(operations: QuerySet | str, parsed: ParsedOperation) -> bool:
    """Move the operation in `operations` (a QuerySet, or Graph's id of the operation)
    forward by Graph's word; True if it moved."""
    new_status = parsed.status
    if new_status not in states.OPERATION_STATUS_RANK:
        logger.warning("Operation %s: unknown status %r ignored", parsed.id, new_status)
        return False
    now = timezone.now()
    if move_operation(operations, to=new_status, now=now, **outcome_fields(parsed)):
        return True
    if parsed.last_action and new_status not in RecordOperation.FINAL_STATUSES:
        # Same status again: only Graph's last-action time may have news.
        if isinstance(operations, str):
            operations = RecordOperation.objects.with_graph_id(operations)
        operations.filter(status=new_status).exclude(
            graph_last_action_at=parsed.last_action
        ).update(graph_last_action_at=parsed.last_action, updated_at=now)
    return False


def outcome_fields(parsed: ParsedOperation) -> dict:
    """What Graph said about the outcome; what it left out keeps its stored value."""
    fields = {}
    reason = parsed.completion_reason
    if reason in RecordOperation.UNTOLD_REASONS and parsed.status in RecordOperation.FINAL_STATUSES:
        # v1.0's completed recordOperation has no completionReason: its resultInfo says how
        # it ended (README, "How a recording ended"). Graph's "none" gives way the same way.
        reason = RECORD_RESULT_REASONS.get(parsed.result_subcode, reason)
    if reason:
        fields["completion_reason"] = reason
    if parsed.result_code is not None:
        fields["result_code"] = parsed.result_code
        fields["result_subcode"] = parsed.result_subcode
        fields["result_message"] = parsed.result_message or ""
    if parsed.recording_location:
        fields["recording_location"] = parsed.recording_location
    if parsed.recording_access_token:
        fields["recording_access_token"] = parsed.recording_access_token
    if parsed.last_action:
        fields["graph_last_action_at"] = parsed.last_action
    return fields


def create_media_operation(
    *, call: Call, kind: str, parsed: ParsedOperation, client_context: str, **fields
) -> MediaOperation:
    """The row of a media operation Graph just accepted, in the status Graph answered with."""
    status = parsed.status if parsed.status in states.OPERATION_STATUS_RANK else "running"
    return MediaOperation.objects.create(
        call=call,
        kind=kind,
        graph_id=parsed.id,
        status=status,
        client_context=client_context,
        finished_at=timezone.now() if status in MediaOperation.FINAL_STATUSES else None,
        **fields,
    )


def advance_media_operation(parsed: ParsedOperation) -> bool | None:
    """Move the media operation Graph's word names forward; None when it names none of them."""
    operations = MediaOperation.objects.with_graph_id(parsed.id)
    if not operations.exists():
        return None
    new_status = parsed.status
    if new_status not in states.OPERATION_STATUS_RANK:
        return False
    now = timezone.now()
    changes = {"status": new_status, "updated_at": now}
    if new_status in MediaOperation.FINAL_STATUSES:
        changes["finished_at"] = now
    if parsed.result_code is not None:
        changes.update(
            result_code=parsed.result_code,
            result_subcode=parsed.result_subcode,
            result_message=parsed.result_message or "",
        )
    before = states.operation_statuses_before(new_status)
    return bool(operations.filter(status__in=before).update(**changes))


# --- Closing what Graph never finishes ------------------------------------------------------


def overdue_after(operation: RecordOperation) -> datetime:
    """When a running operation is far enough past its maximum to stop waiting for Graph."""
    request = operation.record_request
    longest = (
        (request.max_record_duration or 5)
        + (request.initial_silence_timeout or 5)
        + sum((p.duration_ms or 0) for p in request.prompts.all()) / 1000
    )
    return operation.created_at + timedelta(
        seconds=longest + settings.RECORDER_OVERDUE_MARGIN_SECONDS
    )


def close_abandoned_operations(
    *, now: datetime | None = None, client: GraphClient | None = None
) -> list[RecordOperation]:
    """Close running operations Graph will never finish; ask Graph first where it can answer.

    Two cases: the call ended more than the grace period ago (Graph sends no completion for a
    recording, running or queued, that a hang-up cut short), or the operation runs well past
    its maximum duration. Graph is asked for the operation first, since its own word (a lost
    notification) beats Recorder's guess. One the call's end closes says who ended the call,
    and its audio is fetched when Graph has said where it is.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.RECORDER_CLOSE_GRACE_SECONDS)
    closed = []
    running = (
        RecordOperation.objects.filter(
            status__in=(OperationStatus.NOT_STARTED, OperationStatus.RUNNING)
        )
        .select_related("call", "record_request")
        .prefetch_related("record_request__prompts")
    )
    for operation in running:
        call_ended = (
            operation.call.state == CallState.TERMINATED
            and operation.call.ended_at is not None
            and operation.call.ended_at <= now - grace
        )
        overdue = operation.status == OperationStatus.RUNNING and overdue_after(operation) <= now
        if not (call_ended or overdue):
            continue
        if reconcile_operation(operation=operation, client=client):
            closed.append(operation)
            continue
        reason = (
            reason_for_call_end(operation.call)
            if call_ended
            else RecordOperation.RecorderReason.OVERDUE
        )
        if _close_by_recorder(operation, reason):
            closed.append(operation)
    return closed


def reason_for_call_end(call: Call) -> str:
    """The RecorderReason of a recording the call's end cut short: who ended the call."""
    return RecordOperation.REASON_BY_CALL_END.get(
        call.ended_by, RecordOperation.RecorderReason.CALL_ENDED
    )


def explain_by_call_end(*, call: Call) -> int:
    """Give the call's finished operations that Graph gave no reason ("none" or nothing) the
    reason of the call's end, so no page shows a reason that says nothing; how many."""
    if not call.ended_by:
        return 0
    return RecordOperation.objects.filter(
        call=call,
        status__in=RecordOperation.FINAL_STATUSES,
        completion_reason__in=RecordOperation.UNTOLD_REASONS,
        recorder_reason="",
    ).update(recorder_reason=reason_for_call_end(call), updated_at=timezone.now())


def reconcile_operation(*, operation: RecordOperation, client: GraphClient | None = None) -> bool:
    """Ask Graph for the operation and apply its answer; True when that finished it."""
    client = client or graph_setup.graph_client()
    try:
        parsed = client.get_operation(
            operation.call.graph_id,
            operation.graph_id,
            log=DatabaseExchangeLog(call=operation.call, operation=operation),
        )
    except GraphNotFoundError:
        return False
    except GraphError as err:
        logger.warning("Could not ask Graph about operation %s: %s", operation.graph_id, err)
        return False
    # One transaction, the operation's row locked, as when a notification completes it: the
    # completion and its Recording row commit together. Committed apart, the periodic retry on
    # another worker could make that row in between, and this insert would then fail.
    with transaction.atomic():
        RecordOperation.objects.select_for_update().only("pk").get(pk=operation.pk)
        advance_operation(RecordOperation.objects.filter(pk=operation.pk), parsed)
    operation.refresh_from_db()
    terminated = operation.call.state == CallState.TERMINATED
    if operation.is_final and terminated and explain_by_call_end(call=operation.call):
        operation.refresh_from_db()
    return operation.is_final


def _close_by_recorder(operation: RecordOperation, reason: str) -> bool:
    # Audio Graph said where to find is fetched (completed makes its Recording row): what
    # was recorded before the hang-up is the caller's message.
    to = OperationStatus.COMPLETED if operation.recording_location else OperationStatus.FAILED
    with transaction.atomic():
        closed = move_operation(
            RecordOperation.objects.filter(pk=operation.pk),
            to=to,
            now=timezone.now(),
            recorder_reason=reason,
        )
    operation.refresh_from_db()
    if closed:
        logger.info("Closed operation %s: %s", operation.graph_id, reason)
    return closed
