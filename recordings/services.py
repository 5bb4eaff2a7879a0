"""The writes. Every state transition of a call or an operation happens here and nowhere else.

Remote work (Graph) never runs inside a database transaction: a request is saved first, sent
outside any transaction, and its outcome saved after. Notifications are applied under a lock
on the call row, so a notification and the operation it names can't miss each other.
"""

import contextlib
import hashlib
import json
import logging
import traceback
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from recordings.graph import (
    DatabaseExchangeLog,
    GraphClient,
    GraphError,
    GraphNotFoundError,
    ParsedCall,
    ParsedNotification,
    ParsedOperation,
    PayloadError,
    RecordSpec,
    build_record_body,
    parse_notifications,
    validate_record_spec,
)
from recordings.models import (
    Call,
    CallState,
    GraphExchange,
    Notification,
    OperationStatus,
    Prompt,
    RecordOperation,
    RecordRequest,
    RequestStatus,
)

logger = logging.getLogger(__name__)


class RecordingRefused(Exception):
    """The request breaks a rule Recorder checks before anything is sent."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(" ".join(msg for msgs in errors.values() for msg in msgs))


class GraphActionFailed(Exception):
    """Graph refused or could not be reached; `message` is a sentence for the operator."""

    def __init__(self, message: str, *, error: GraphError, record_request=None):
        self.message = message
        self.error = error
        self.record_request = record_request
        super().__init__(message)


def graph_client() -> GraphClient:
    return GraphClient.from_settings()


# --- Starting, cancelling, hanging up -------------------------------------------------------


def start_recording(
    *,
    call: Call,
    spec: RecordSpec,
    by: AbstractBaseUser | None = None,
    client: GraphClient | None = None,
) -> RecordOperation:
    # The profile is the deployment's (GRAPH_API_PROFILE, with its base URL), never the
    # request's: the two must match for Graph to understand the body.
    client = client or graph_client()
    profile = client.profile.name
    if not call.is_live:
        raise RecordingRefused(
            {
                "call": [
                    f"The call has {call.get_state_display()}; only a live call can be recorded."
                ]
            }
        )
    if not spec.client_context:
        spec = replace(spec, client_context=str(uuid.uuid4()))
    errors = validate_record_spec(spec, profile)
    if errors:
        raise RecordingRefused(errors)

    body = build_record_body(spec, profile)
    with transaction.atomic():
        record_request = RecordRequest.objects.create(
            call=call,
            profile=profile,
            requested_by=by if by is not None and by.is_authenticated else None,
            barge_in_allowed=spec.barge_in_allowed,
            play_beep=spec.play_beep,
            initial_silence_timeout=spec.initial_silence_timeout,
            max_silence_timeout=spec.max_silence_timeout,
            max_record_duration=spec.max_record_duration,
            stop_tones=list(spec.stop_tones),
            client_context=spec.client_context,
            stream_while_recording=spec.stream_while_recording,
            recording_format=spec.recording_format,
            body_sent=body,
        )
        Prompt.objects.bulk_create(
            Prompt(
                request=record_request,
                position=position,
                kind=prompt.kind,
                uri=prompt.uri,
                resource_id=prompt.resource_id,
                loop=prompt.loop,
                duration_ms=prompt.duration_ms,
            )
            for position, prompt in enumerate(spec.prompts)
        )

    log = DatabaseExchangeLog(call=call, record_request=record_request)
    try:
        result = client.record(call.graph_id, spec, log=log)
    except GraphError as err:
        RecordRequest.objects.filter(pk=record_request.pk).update(
            status=RequestStatus.REFUSED if err.status else RequestStatus.ERROR,
            response_status=err.status,
            error_code=err.code or "",
            error_message=str(err),
            graph_request_id=err.request_id or "",
            client_request_id=_uuid_or_none(err.client_request_id)
            or record_request.client_request_id,
        )
        record_request.refresh_from_db()
        raise GraphActionFailed(
            err.operator_message, error=err, record_request=record_request
        ) from err

    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        operation = RecordOperation(
            graph_id=result.operation.id,
            call=call,
            record_request=record_request,
            profile=profile,
            client_context=result.operation.client_context or spec.client_context,
            status=OperationStatus.RUNNING,
            graph_created_at=result.operation.created,
            **_outcome(result.operation),
        )
        operation.save()
        RecordRequest.objects.filter(pk=record_request.pk).update(
            status=RequestStatus.ACCEPTED,
            response_status=200,
            response_body=json.dumps(result.body) if result.body is not None else "",
            graph_request_id=result.request_id or "",
            client_request_id=_uuid_or_none(result.client_request_id)
            or record_request.client_request_id,
        )
        GraphExchange.objects.filter(record_request=record_request).update(operation=operation)
        # A fast recording may finish, and Graph say so, before its own answer got here.
        _apply_waiting_notifications(operation)
    operation.refresh_from_db()
    return operation


def cancel_recording(
    *,
    operation: RecordOperation,
    by: AbstractBaseUser | None = None,
    client: GraphClient | None = None,
) -> None:
    """Ask Graph to cancel; the operation ends when Graph's failed/operationCanceled arrives."""
    if operation.is_final:
        raise RecordingRefused({"operation": ["The recording has already ended."]})
    client = client or graph_client()
    log = DatabaseExchangeLog(call=operation.call, operation=operation)
    try:
        client.cancel_media_processing(operation.call.graph_id, operation.client_context, log=log)
    except GraphError as err:
        raise GraphActionFailed(err.operator_message, error=err) from err


def hang_up(
    *, call: Call, by: AbstractBaseUser | None = None, client: GraphClient | None = None
) -> None:
    """Ask Graph to end the call; its state follows from Graph's terminated notification."""
    if not call.is_live:
        raise RecordingRefused({"call": ["The call has already ended."]})
    client = client or graph_client()
    try:
        client.delete_call(call.graph_id, log=DatabaseExchangeLog(call=call))
    except GraphError as err:
        raise GraphActionFailed(err.operator_message, error=err) from err


def answer_call(*, call: Call, client: GraphClient | None = None) -> bool:
    """Answer an incoming call with service-hosted media. Safe to run twice."""
    call.refresh_from_db()
    if call.state != CallState.INCOMING or call.answered_at is not None:
        return False
    client = client or graph_client()
    client.answer_call(call.graph_id, settings.NOTIFICATION_URL, log=DatabaseExchangeLog(call=call))
    return True


# --- Notifications --------------------------------------------------------------------------


def store_notification(
    *, body: bytes, headers: dict, remote_addr: str | None, claims: dict, **fields
) -> Notification:
    return Notification.objects.create(
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        headers=headers,
        remote_addr=remote_addr,
        token_claims=claims,
        **fields,
    )


def receive_notification(
    *, body: bytes, headers: dict, remote_addr: str | None, claims: dict
) -> Notification:
    """Store an authenticated POST raw, then apply it, in one transaction: one commit.

    When the apply fails, its transaction takes the row with it, so the POST is stored
    again on its own with the reason, and the error raised. If the process dies in between,
    nothing was answered, and Graph delivers again: nothing is lost either way.
    """
    try:
        with transaction.atomic():
            notification = store_notification(
                body=body, headers=headers, remote_addr=remote_addr, claims=claims
            )
            _apply_and_mark(notification)
    except Exception as err:
        store_notification(
            body=body,
            headers=headers,
            remote_addr=remote_addr,
            claims=claims,
            **_failure(err),
        )
        raise
    return notification


def apply_notification(notification: Notification) -> Notification:
    """Apply a stored POST again (the admin's re-apply). Safe to repeat: every step is
    idempotent. A failure is saved on the row, then raised."""
    try:
        with transaction.atomic():
            _apply_and_mark(notification)
    except Exception as err:
        fields = _failure(err)
        Notification.objects.filter(pk=notification.pk).update(**fields)
        for name, value in fields.items():
            setattr(notification, name, value)
        raise
    return notification


def _apply_and_mark(notification: Notification) -> None:
    unmatched = _apply_items(_parse_stored(notification))
    fields = {
        "processed_at": timezone.now(),
        "matched": not unmatched,
        "unmatched_operation_ids": sorted(unmatched),
        "error": "",
        "traceback": "",
    }
    Notification.objects.filter(pk=notification.pk).update(**fields)
    for name, value in fields.items():
        setattr(notification, name, value)


def _failure(err: Exception) -> dict[str, str]:
    if isinstance(err, PayloadError):
        return {"error": str(err), "traceback": ""}
    return {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}


def _parse_stored(notification: Notification) -> list[ParsedNotification]:
    try:
        return parse_notifications(json.loads(bytes(notification.body)))
    except (ValueError, PayloadError) as err:
        raise PayloadError(_payload_problem(err)) from err


def _payload_problem(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"The body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}."
    if isinstance(err, UnicodeDecodeError):
        return "The body is not UTF-8 text."
    return str(err)


def _apply_items(items: list[ParsedNotification]) -> set[str]:
    unmatched: set[str] = set()
    for item in items:
        if item.operation is not None:
            if not _apply_operation_notification(item):
                unmatched.add(item.operation_id or item.operation.id)
        elif item.call is not None:
            _apply_call_notification(item)
        else:
            logger.info("Ignoring a notification for %s (%s)", item.resource_url, item.odata_type)
    return unmatched


def _apply_operation_notification(item: ParsedNotification) -> bool:
    """Apply one record-operation notification; False when the operation is not known yet.

    Runs inside the notification's transaction. The common case is one conditional UPDATE.
    When the operation is missing, the call's row is locked and the operation looked up
    again: start_recording holds that lock while it creates the operation and looks for
    notifications that waited for it, so the two cannot miss each other.
    """
    operation_id = item.operation.id or item.operation_id
    operations = RecordOperation.objects.with_graph_id(operation_id)
    if _advance_operation(operations, item.operation) or operations.exists():
        return True  # moved, or known and Graph's word was a replay or stale
    if _lock_call(item.call_id) is None or not operations.exists():
        return False
    _advance_operation(operations, item.operation)
    return True


def _apply_call_notification(item: ParsedNotification) -> None:
    """Create or move a call. Runs inside the notification's transaction."""
    parsed: ParsedCall = item.call
    graph_id = parsed.id or item.call_id
    call = _lock_call(graph_id)
    created = False
    if call is None:
        try:
            with transaction.atomic():
                call = Call.objects.create(
                    graph_id=graph_id,
                    state=parsed.state if parsed.state in CallState.values else CallState.INCOMING,
                    direction=parsed.direction
                    if parsed.direction in Call.Direction.values
                    else Call.Direction.UNKNOWN,
                    caller_id=parsed.caller_id or "",
                    caller_name=parsed.caller_name or "",
                    tenant_id=parsed.tenant_id or "",
                )
            created = True
        except IntegrityError:
            # Two notifications for a new call at once: the other one created it.
            call = _lock_call(graph_id)
    _advance_call(call, parsed, created=created)


def _lock_call(graph_call_id: str | None) -> Call | None:
    if not graph_call_id:
        return None
    return Call.objects.select_for_update().one_with_graph_id(graph_call_id)


# Calls move forward through these ranks; within rank 2 they move freely (hold, transfer).
CALL_STATE_RANK = {
    CallState.INCOMING: 0,
    CallState.RINGING: 1,
    CallState.ESTABLISHING: 1,
    CallState.ESTABLISHED: 2,
    CallState.HOLD: 2,
    CallState.TRANSFERRING: 2,
    CallState.TRANSFER_ACCEPTED: 2,
    CallState.REDIRECTING: 2,
    CallState.TERMINATING: 3,
    CallState.TERMINATED: 4,
}


def _advance_call(call: Call, parsed: ParsedCall, *, created: bool) -> None:
    changed: list[str] = []
    for field, value in (
        ("caller_id", parsed.caller_id),
        ("caller_name", parsed.caller_name),
        ("tenant_id", parsed.tenant_id),
    ):
        if value and not getattr(call, field):
            setattr(call, field, value)
            changed.append(field)
    if parsed.direction in Call.Direction.values and call.direction == Call.Direction.UNKNOWN:
        call.direction = parsed.direction
        changed.append("direction")

    new_state = parsed.state
    if new_state not in CALL_STATE_RANK:
        logger.warning("Call %s: unknown state %r left as %s", call.graph_id, new_state, call.state)
    elif _call_state_moves(call.state, new_state) or (created and new_state == call.state):
        call.state = new_state
        changed.append("state")
        now = timezone.now()
        if new_state == CallState.ESTABLISHED and call.answered_at is None:
            call.answered_at = now
            changed.append("answered_at")
        if new_state == CallState.TERMINATED:
            call.ended_at = now
            call.result_code = parsed.result_code
            call.result_subcode = parsed.result_subcode
            call.result_message = parsed.result_message or ""
            changed += ["ended_at", "result_code", "result_subcode", "result_message"]
            if call.operations.filter(status=OperationStatus.RUNNING).exists():
                transaction.on_commit(_schedule_close_after_call_end)
        if new_state == CallState.INCOMING and created and settings.AUTO_ANSWER:
            call_pk = call.pk
            transaction.on_commit(lambda: _enqueue_answer(call_pk))
    if changed:
        call.save(update_fields=[*changed, "updated_at"])


def _call_state_moves(current: str, new: str) -> bool:
    if current == new:
        return False
    current_rank, new_rank = CALL_STATE_RANK.get(current, 0), CALL_STATE_RANK[new]
    return new_rank > current_rank or (new_rank == current_rank == 2)


def _enqueue_answer(call_pk: int) -> None:
    from recordings.tasks import answer_call_task

    answer_call_task.enqueue(call_pk)


def _schedule_close_after_call_end() -> None:
    from recordings.tasks import close_abandoned_operations_task

    task = close_abandoned_operations_task
    if task.get_backend().supports_defer:
        task = task.using(
            run_after=timezone.now() + timedelta(seconds=settings.RECORDER_CLOSE_GRACE_SECONDS)
        )
    task.enqueue()


def _advance_operation(operations: QuerySet, parsed: ParsedOperation) -> bool:
    """Move the operation in `operations` forward by Graph's word; True if it moved.

    One conditional UPDATE: it matches only while the stored status ranks below the new
    one, so final is final, a status never moves back, and of two deliveries at once
    exactly one moves it (the database re-checks the condition under the row lock).
    """
    rank = RecordOperation.STATUS_RANK
    new_status = parsed.status
    if new_status not in rank:
        logger.warning("Operation %s: unknown status %r ignored", parsed.id, new_status)
        return False
    now = timezone.now()
    earlier = [status for status, r in rank.items() if r < rank[new_status]]
    changes = {**_outcome(parsed), "status": new_status, "updated_at": now}
    if new_status in RecordOperation.FINAL_STATUSES:
        changes["finished_at"] = now
    if operations.filter(status__in=earlier).update(**changes):
        return True
    if parsed.last_action and new_status not in RecordOperation.FINAL_STATUSES:
        # Same status again: only Graph's last-action time may have news.
        operations.filter(status=new_status).exclude(
            graph_last_action_at=parsed.last_action
        ).update(graph_last_action_at=parsed.last_action, updated_at=now)
    return False


def _outcome(parsed: ParsedOperation) -> dict:
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


def _apply_waiting_notifications(operation: RecordOperation) -> None:
    """Apply notifications that named this operation before Recorder knew it."""
    since = timezone.now() - timedelta(days=1)
    waiting = Notification.objects.filter(matched=False, received_at__gte=since).order_by("pk")
    wanted = operation.graph_id.lower()
    for notification in waiting:
        if any(str(i).lower() == wanted for i in notification.unmatched_operation_ids):
            # A failure stays on that notification's row; it must not undo this operation.
            with contextlib.suppress(Exception):
                apply_notification(notification)


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
    client = client or graph_client()
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
    _advance_operation(RecordOperation.objects.filter(pk=operation.pk), parsed)
    operation.refresh_from_db()
    return operation.is_final


def _close_by_recorder(operation: RecordOperation, reason: str) -> bool:
    now = timezone.now()
    closed = RecordOperation.objects.filter(
        pk=operation.pk, status__in=[OperationStatus.NOT_STARTED, OperationStatus.RUNNING]
    ).update(status=OperationStatus.FAILED, recorder_reason=reason, finished_at=now, updated_at=now)
    operation.refresh_from_db()
    if closed:
        logger.info("Closed operation %s: %s", operation.graph_id, reason)
    return bool(closed)


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None
