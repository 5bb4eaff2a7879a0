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
from recordings.models import CallState, OperationStatus, RecordOperation
from recordings.services import fetching as fetch_services
from recordings.services import states

logger = logging.getLogger(__name__)


def move_operation(operations: QuerySet, *, to: str, now: datetime, **changes) -> bool:
    """Move the operation in `operations` to status `to`, with `changes`; True if it moved.

    One conditional UPDATE: it matches only while the stored status ranks below `to`, so
    final is final, a status never moves back, and of two moves at once exactly one happens
    (the database re-checks the condition under the row lock). A completion makes the
    operation's Recording row in the same transaction, from what the UPDATE returned.
    """
    changes = {**changes, "status": to, "updated_at": now}
    if to in RecordOperation.FINAL_STATUSES:
        changes["finished_at"] = now
    moved = _update_returning(
        operations.filter(status__in=states.operation_statuses_before(to)),
        changes,
        returning=("id", "recording_location"),
    )
    if to == OperationStatus.COMPLETED:
        for operation_pk, recording_location in moved:
            fetch_services.expect_recording(
                operation_pk=operation_pk, recording_location=recording_location
            )
    return bool(moved)


def _update_returning(rows: QuerySet, changes: dict, *, returning: tuple[str, ...]) -> list:
    """`rows.update(**changes)`, returning the `returning` columns of the rows it changed.

    One statement (UPDATE ... RETURNING) rather than an UPDATE and a SELECT. QuerySet.update()
    returns only a count; this is the same UPDATE through the method Model.save() uses to
    get columns back from one. PostgreSQL and SQLite (3.35+) both return rows from an UPDATE.
    """
    meta = rows.model._meta
    values = [(meta.get_field(name), None, value) for name, value in changes.items()]
    return rows._update(values, returning_fields=[meta.get_field(name) for name in returning])


def advance_operation(operations: QuerySet, parsed: ParsedOperation) -> bool:
    """Move the operation in `operations` forward by Graph's word; True if it moved."""
    new_status = parsed.status
    if new_status not in states.OPERATION_STATUS_RANK:
        logger.warning("Operation %s: unknown status %r ignored", parsed.id, new_status)
        return False
    now = timezone.now()
    if move_operation(operations, to=new_status, now=now, **outcome_fields(parsed)):
        return True
    if parsed.last_action and new_status not in RecordOperation.FINAL_STATUSES:
        # Same status again: only Graph's last-action time may have news.
        operations.filter(status=new_status).exclude(
            graph_last_action_at=parsed.last_action
        ).update(graph_last_action_at=parsed.last_action, updated_at=now)
    return False


def outcome_fields(parsed: ParsedOperation) -> dict:
    """What Graph said about the outcome; what it left out keeps its stored value."""
    fields = {}
    if parsed.completion_reason:
        fields["completion_reason"] = parsed.completion_reason
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

    Two cases: the call ended more than the grace period ago, or the operation runs well past
    its maximum duration. Graph is asked for the operation first, since its own word (a lost
    notification) beats Recorder's guess.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.RECORDER_CLOSE_GRACE_SECONDS)
    closed = []
    running = (
        RecordOperation.objects.filter(status=OperationStatus.RUNNING)
        .select_related("call", "record_request")
        .prefetch_related("record_request__prompts")
    )
    for operation in running:
        call_ended = (
            operation.call.state == CallState.TERMINATED
            and operation.call.ended_at is not None
            and operation.call.ended_at <= now - grace
        )
        overdue = overdue_after(operation) <= now
        if not (call_ended or overdue):
            continue
        if reconcile_operation(operation=operation, client=client):
            closed.append(operation)
            continue
        reason = (
            RecordOperation.RecorderReason.CALL_ENDED
            if call_ended
            else RecordOperation.RecorderReason.OVERDUE
        )
        if _close_by_recorder(operation, reason):
            closed.append(operation)
    return closed


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
    return operation.is_final


def _close_by_recorder(operation: RecordOperation, reason: str) -> bool:
    closed = move_operation(
        RecordOperation.objects.filter(pk=operation.pk),
        to=OperationStatus.FAILED,
        now=timezone.now(),
        recorder_reason=reason,
    )
    operation.refresh_from_db()
    if closed:
        logger.info("Closed operation %s: %s", operation.graph_id, reason)
    return closed
