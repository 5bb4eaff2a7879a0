"""Calls: answering, hanging up, and the one function that moves a call's state."""

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from recordings import graph_setup
from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import GraphClient, GraphError, ParsedCall
from recordings.graph.client import HANG_UP_ACTION
from recordings.graph.vocabulary import (
    CALL_END_BOT,
    CALL_END_NO_KEEPALIVE,
    CALL_END_OTHERS_LEFT,
    REJECT_REASONS,
)
from recordings.models import Call, CallState, CallTone, MediaOperation, OperationStatus
from recordings.services import enqueue, states
from recordings.services import errors as service_errors
from recordings.services import operations as operation_services

logger = logging.getLogger(__name__)


def hang_up(
    *, call: Call, by: AbstractBaseUser | None = None, client: GraphClient | None = None
) -> None:
    """Ask Graph to end the call; its state follows from Graph's terminated notification."""
    if not call.is_live:
        raise service_errors.CallActionRefused({"call": ["The call has already ended."]})
    client = client or graph_setup.graph_client()
    try:
        client.delete_call(call.graph_id, log=DatabaseExchangeLog(call=call))
    except GraphError as err:
        raise service_errors.GraphActionFailed(err.operator_message, error=err) from err


def answer_call(
    *, call: Call, by: AbstractBaseUser | None = None, client: GraphClient | None = None
) -> bool:
    """Answer an incoming call with service-hosted media. Safe to run twice: False when the
    call no longer rings. `by` is the operator who answered it by hand (AUTO_ANSWER off)."""
    call.refresh_from_db()
    if call.state != CallState.INCOMING or call.answered_at is not None:
        return False
    client = client or graph_setup.graph_client()
    client.answer_call(call.graph_id, settings.NOTIFICATION_URL, log=DatabaseExchangeLog(call=call))
    subscribe_to_tones(call=call, client=client)
    return True


def subscribe_to_tones(*, call: Call, client: GraphClient) -> MediaOperation | None:
    """Ask Graph for the keys the caller presses (each then comes as an updated call with
    toneInfo); None when Graph would not: a refusal loses the keys, not the call."""
    context = f"tones-{uuid.uuid4()}"
    try:
        parsed = client.subscribe_to_tone(
            call.graph_id, context, log=DatabaseExchangeLog(call=call)
        )
    except GraphError as err:
        logger.warning("Could not subscribe to the keys of call %s: %s", call.graph_id, err)
        return None
    return operation_services.create_media_operation(
        call=call,
        kind=MediaOperation.Kind.SUBSCRIBE_TO_TONE,
        parsed=parsed,
        client_context=context,
    )


def reject_call(
    *,
    call: Call,
    reason: str,
    by: AbstractBaseUser | None,
    client: GraphClient | None = None,
) -> None:
    """Decline a ringing call with one of Graph's reasons (none, busy, forbidden); its state
    follows from Graph's terminated notification."""
    call.refresh_from_db()
    if call.state != CallState.INCOMING or call.answered_at is not None:
        raise service_errors.CallActionRefused(
            {"call": ["The call no longer rings; only a ringing call can be rejected."]}
        )
    if reason not in REJECT_REASONS:
        raise service_errors.CallActionRefused(
            {"reason": [f"Pick a reason: {', '.join(REJECT_REASONS)}."]}
        )
    client = client or graph_setup.graph_client()
    try:
        client.reject_call(
            call.graph_id, reason, settings.NOTIFICATION_URL, log=DatabaseExchangeLog(call=call)
        )
    except GraphError as err:
        raise service_errors.GraphActionFailed(err.operator_message, error=err) from err


# The states of a call Graph keeps up and wants keepAlives for.
KEPT_ALIVE_STATES = (
    CallState.ESTABLISHED,
    CallState.HOLD,
    CallState.TRANSFERRING,
    CallState.TRANSFER_ACCEPTED,
    CallState.REDIRECTING,
)


def calls_due_a_keepalive(*, now: datetime) -> QuerySet:
    """Live calls whose last keepAlive (or answer, if none yet) is GRAPH_KEEPALIVE_MINUTES old."""
    due = now - timedelta(minutes=settings.GRAPH_KEEPALIVE_MINUTES)
    return (
        Call.objects.filter(state__in=KEPT_ALIVE_STATES)
        .annotate(kept_since=Coalesce("last_keepalive_at", "answered_at", "created_at"))
        .filter(kept_since__lte=due)
        .order_by("kept_since")
    )


def keep_calls_alive(
    *, now: datetime | None = None, client: GraphClient | None = None
) -> list[Call]:
    """Send a keepAlive for every live call due one; the calls Graph accepted it for.

    A call Graph no longer knows has ended: its terminated notification says how. Any other
    failure is tried again at the next run, well inside Graph's 45 minutes."""
    now = now or timezone.now()
    client = client or graph_setup.graph_client()
    kept = []
    for call in calls_due_a_keepalive(now=now):
        try:
            client.keep_alive(call.graph_id, log=DatabaseExchangeLog(call=call))
        except GraphError as err:
            logger.warning("keepAlive for call %s failed: %s", call.graph_id, err)
            continue
        call.last_keepalive_at = timezone.now()
        Call.objects.filter(pk=call.pk).update(last_keepalive_at=call.last_keepalive_at)
        kept.append(call)
    return kept


def lock_call(graph_call_id: str | None) -> Call | None:
    """The call with this Graph id, its row locked until the transaction ends; None if unknown."""
    if not graph_call_id:
        return None
    return Call.objects.select_for_update().one_with_graph_id(graph_call_id)


def apply_graph_call(*, graph_id: str, parsed: ParsedCall) -> Call:
    """Create or move a call by Graph's word. Runs inside the caller's transaction."""
    call = lock_call(graph_id)
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
            call = lock_call(graph_id)
    move_call(call, parsed, created=created)
    return call


def move_call(call: Call, parsed: ParsedCall, *, created: bool) -> None:
    """Take what Graph says about a locked call: fill in what it lacks, and move its state
    when the state ranks allow it (a just created call takes its first state's effects)."""
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
    if new_state not in states.CALL_STATE_RANK:
        logger.warning("Call %s: unknown state %r left as %s", call.graph_id, new_state, call.state)
    elif states.call_state_moves(call.state, new_state) or (created and new_state == call.state):
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
            call.ended_by = who_ended(call)
            changed += ["ended_at", "result_code", "result_subcode", "result_message", "ended_by"]
            operation_services.explain_by_call_end(call=call)
            if call.operations.filter(status__in=UNFINISHED).exists():
                transaction.on_commit(_close_after_the_grace)
        if new_state == CallState.INCOMING and created and settings.AUTO_ANSWER:
            call_pk = call.pk
            transaction.on_commit(lambda: enqueue.answer_call(call_pk))
    if changed:
        call.save(update_fields=[*changed, "updated_at"])


# Graph sends no completion for a recording the call's end cut short, running or queued.
UNFINISHED = (OperationStatus.NOT_STARTED, OperationStatus.RUNNING)


def who_ended(call: Call) -> str:
    """Who ended a terminated call (a Call.EndedBy value), from its resultInfo and from
    whether Recorder itself sent the hang-up (Graph's code for that is not always 7000)."""
    code = (call.result_code, call.result_subcode)
    if code in CALL_END_BOT or (
        call.pk
        and call.exchanges.filter(
            action=HANG_UP_ACTION, response_status__gte=200, response_status__lt=300
        ).exists()
    ):
        return Call.EndedBy.OPERATOR
    if code in CALL_END_NO_KEEPALIVE:
        return Call.EndedBy.NO_KEEPALIVE
    if code in CALL_END_OTHERS_LEFT:
        return Call.EndedBy.CALLER
    return Call.EndedBy.OTHER


def record_tone(*, call: Call, parsed: ParsedCall) -> bool:
    """Keep a key the caller pressed; False for a sequenceId already kept (a redelivery)."""
    if not parsed.tone or parsed.tone_sequence_id is None:
        return False
    _, created = CallTone.objects.get_or_create(
        call=call, sequence_id=parsed.tone_sequence_id, defaults={"tone": parsed.tone}
    )
    return created


def _close_after_the_grace() -> None:
    grace = timedelta(seconds=settings.RECORDER_CLOSE_GRACE_SECONDS)
    enqueue.close_abandoned_operations(run_after=timezone.now() + grace)
