"""The writes. Every state transition of a call or an operation happens here and nowhere else.

Remote work (Graph) never runs inside a database transaction: a request is saved first, sent
outside any transaction, and its outcome saved after. Notifications are applied under a lock
on the call row, so a notification and the operation it names can't miss each other.
"""

import contextlib
import hashlib
import json
import logging
import time
import traceback
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from recordings import graph_setup
from recordings.audio import NotWav, inspect_wav, waveform_svg
from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import (
    DownloadRefused,
    GraphClient,
    GraphError,
    GraphNotFoundError,
    GraphSession,
    ParsedCall,
    ParsedNotification,
    ParsedOperation,
    PayloadError,
    RecordSpec,
    build_record_body,
    download_recording,
    parse_notifications,
    validate_record_spec,
)
from recordings.models import (
    Call,
    CallState,
    FetchStatus,
    GraphExchange,
    Notification,
    OperationStatus,
    Prompt,
    Recording,
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
    return graph_setup.graph_client()


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
        if new_status == OperationStatus.COMPLETED:
            _expect_recording(operations)
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


# --- Fetching, keeping and purging the audio ------------------------------------------------

# Graph's answers that mean the link is dead for good: it has discarded the audio, or the
# token no longer opens it. Retrying cannot help.
LINK_GONE_STATUSES = frozenset({401, 403, 404, 410})


def _expect_recording(operations: QuerySet) -> None:
    """An operation just completed: if it has a recording, make its (one) Recording row and
    fetch it once the transaction commits. Runs inside the caller's transaction, right after
    the conditional UPDATE that completed the operation: that UPDATE holds the operation's
    row lock, and only the one delivery that moved it gets here, so the insert cannot meet
    another and needs no savepoint of its own."""
    completed = operations.filter(status=OperationStatus.COMPLETED).exclude(recording_location="")
    for operation_pk in completed.values_list("pk", flat=True):
        _create_recording(operation_pk, savepoint=False)


def _create_recording(operation_pk: int, *, savepoint: bool = True) -> Recording | None:
    # The OneToOne is the idempotency key: a duplicate completion, or two at once, finds the
    # row there (or loses the insert) and enqueues nothing more. Without a savepoint a lost
    # insert fails the caller's whole transaction, loudly, rather than being skipped.
    try:
        with transaction.atomic(savepoint=savepoint):
            recording = Recording.objects.create(operation_id=operation_pk)
    except IntegrityError:
        if not savepoint:
            raise
        return None
    transaction.on_commit(lambda: _enqueue_fetch(recording.pk))
    return recording


def _enqueue_fetch(recording_pk: int, *, run_after: datetime | None = None) -> None:
    from recordings.tasks import fetch_recording_task

    task = fetch_recording_task
    if run_after is not None:
        if not task.get_backend().supports_defer:
            # The periodic reconcile enqueues it once run_after has passed.
            return
        task = task.using(run_after=run_after)
    task.enqueue(recording_pk)


def fetch_backoff(attempt: int) -> timedelta:
    """How long to wait after the `attempt`-th failed try: doubling, at most ten minutes."""
    base = settings.RECORDING_FETCH_BACKOFF_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempt - 1), 600.0))


def _claimable(now: datetime) -> Q:
    lease = timedelta(seconds=settings.RECORDING_FETCH_LEASE_SECONDS)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    # A claim older than its lease belongs to a worker that died: it may be taken over.
    return (Q(status=FetchStatus.PENDING) & due) | Q(
        status=FetchStatus.FETCHING, claimed_at__lt=now - lease
    )


def fetch_recording(*, recording_pk: int, session: GraphSession | None = None) -> Recording | None:
    """Fetch an operation's audio from Graph into storage, once.

    The worker first claims the row with one conditional UPDATE (pending, or fetching with
    an expired lease, to fetching), so of two workers, or a task run twice, only one
    downloads. The claim's time is its fencing token: the file is kept only if the same
    claim still holds when it is recorded, otherwise the file is deleted again, so two
    files can never both be kept. Returns the row when this call claimed it, else None.
    """
    claimed_at = timezone.now()
    claimed = (
        Recording.objects.filter(pk=recording_pk)
        .filter(_claimable(claimed_at))
        .update(
            status=FetchStatus.FETCHING,
            claimed_at=claimed_at,
            attempts=F("attempts") + 1,
            updated_at=claimed_at,
        )
    )
    if not claimed:
        return None
    recording = Recording.objects.select_related("operation__call").get(pk=recording_pk)
    operation = recording.operation
    # Stop well inside the lease, so no other worker can take over while this one writes.
    deadline = time.monotonic() + settings.RECORDING_FETCH_LEASE_SECONDS * 0.8
    temporary = TemporaryUploadedFile(
        name=f"{operation.graph_id}.wav", content_type="audio/wav", size=None, charset=None
    )
    try:
        try:
            downloaded = download_recording(
                operation.recording_location,
                token=operation.recording_access_token,
                sink=temporary,
                allowed_hosts=settings.RECORDING_DOWNLOAD_HOSTS,
                allow_loopback_http=settings.GRAPH_EMULATOR,
                max_bytes=settings.RECORDING_MAX_BYTES,
                timeout=settings.RECORDING_FETCH_TIMEOUT,
                deadline=deadline,
                session=session,
                log=DatabaseExchangeLog(call=operation.call, operation=operation),
            )
            temporary.flush()
            temporary.seek(0)
            info = inspect_wav(temporary)
            waveform = waveform_svg(temporary)
            temporary.size = downloaded.size
            name = default_storage.save(
                recording.file.field.generate_filename(recording, f"{operation.graph_id}.wav"),
                temporary,
            )
        except (GraphError, NotWav) as err:
            return _fetch_failed(recording, claimed_at, err)
        except Exception as err:
            # The storage (a full disk, an object store that is down) or a surprise: the row
            # says so and the fetch is retried, rather than sitting claimed until its lease ends.
            logger.exception("Recording %s: fetch failed unexpectedly", recording.pk)
            return _fetch_failed(recording, claimed_at, err)
    finally:
        with contextlib.suppress(FileNotFoundError):
            # Gone already when the storage moved it into place.
            temporary.close()

    now = timezone.now()
    kept = Recording.objects.filter(
        pk=recording.pk, status=FetchStatus.FETCHING, claimed_at=claimed_at
    ).update(
        status=FetchStatus.STORED,
        file=name,
        size_bytes=downloaded.size,
        sha256=downloaded.sha256,
        duration_seconds=info.duration_seconds,
        sample_rate=info.sample_rate,
        channels=info.channels,
        sample_width_bytes=info.sample_width_bytes,
        waveform_svg=waveform,
        error="",
        claimed_at=None,
        next_attempt_at=None,
        stored_at=now,
        updated_at=now,
    )
    if not kept:
        # Another worker took the claim over (this one outlived its lease): its copy wins.
        default_storage.delete(name)
        logger.warning("Recording %s: claim lost while storing; dropped %s", recording.pk, name)
        return None
    recording.refresh_from_db()
    logger.info(
        "Stored the recording of operation %s: %s, %s bytes, sha256 %s",
        operation.graph_id,
        name,
        downloaded.size,
        downloaded.sha256,
    )
    return recording


def _fetch_failed(recording: Recording, claimed_at: datetime, err: Exception) -> Recording:
    """Leave on the row what went wrong and what happens next; retry a passing failure."""
    now = timezone.now()
    status = getattr(err, "status", None)
    attempt = recording.attempts
    # Graph's errors read as sentences already; anything else is named by its type.
    reason = err if isinstance(err, GraphError | NotWav) else f"{type(err).__name__}: {err}"
    changes: dict = {"claimed_at": None, "updated_at": now}
    retry_at = None
    if isinstance(err, NotWav):
        changes |= {
            "status": FetchStatus.FAILED,
            "next_attempt_at": None,
            "error": f"Graph's file is not a WAV recording: {err} Nothing was kept.",
        }
    elif status in LINK_GONE_STATUSES:
        changes |= {
            "status": FetchStatus.FAILED,
            "next_attempt_at": None,
            "link_expired_at": now,
            "error": (
                f"The link expired or was refused (Graph answered {err}): Graph no longer "
                "gives out this recording, and it can't be fetched again."
            ),
        }
    elif isinstance(err, DownloadRefused) or (
        status is not None and 400 <= status < 500 and status != 429
    ):
        changes |= {
            "status": FetchStatus.FAILED,
            "next_attempt_at": None,
            "error": f"Not fetched: {getattr(err, 'operator_message', err)}",
        }
    elif attempt < settings.RECORDING_FETCH_MAX_ATTEMPTS:
        retry_at = now + fetch_backoff(attempt)
        changes |= {
            "status": FetchStatus.PENDING,
            "next_attempt_at": retry_at,
            "error": (
                f"Attempt {attempt} of {settings.RECORDING_FETCH_MAX_ATTEMPTS} failed ({reason}); "
                f"trying again at {retry_at:%H:%M:%S} UTC."
            ),
        }
    else:
        # The periodic reconcile tries once more from then on, while the link may live.
        changes |= {
            "status": FetchStatus.FAILED,
            "next_attempt_at": now + fetch_backoff(attempt),
            "error": (
                f"Gave up after {attempt} attempts ({reason}); Recorder tries again now and then "
                f"for {settings.RECORDING_FETCH_RETRY_HOURS:g} hours after the recording ended."
            ),
        }
    updated = Recording.objects.filter(
        pk=recording.pk, status=FetchStatus.FETCHING, claimed_at=claimed_at
    ).update(**changes)
    recording.refresh_from_db()
    if updated:
        logger.warning(
            "Recording %s of %s: %s", recording.pk, recording.operation, changes["error"]
        )
        if retry_at is not None:
            transaction.on_commit(lambda: _enqueue_fetch(recording.pk, run_after=retry_at))
    return recording


def retry_recording_fetches(*, now: datetime | None = None) -> list[int]:
    """Give every fetch that should be under way a task: the periodic reconcile's half.

    - pending and due (its deferred task was lost, or the backend can't defer);
    - fetching under an expired lease (its worker died);
    - failed for a passing reason, due again, and recent enough that Graph may still keep
      the audio (never a link Graph refused, nor a file Recorder refused);
    - completed operations with a recording and no row yet (completed before Recorder
      fetched audio, or the row's transaction was lost).
    Returns the recordings enqueued.
    """
    now = now or timezone.now()
    window = now - timedelta(hours=settings.RECORDING_FETCH_RETRY_HOURS)
    for operation_pk in (
        RecordOperation.objects.filter(
            status=OperationStatus.COMPLETED, finished_at__gte=window, recording__isnull=True
        )
        .exclude(recording_location="")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            _create_recording(operation_pk)
    revived = Recording.objects.filter(
        status=FetchStatus.FAILED,
        link_expired_at__isnull=True,
        next_attempt_at__lte=now,
        operation__finished_at__gte=window,
    ).values_list("pk", flat=True)
    for recording_pk in list(revived):
        Recording.objects.filter(pk=recording_pk, status=FetchStatus.FAILED).update(
            status=FetchStatus.PENDING, next_attempt_at=now, updated_at=now
        )
    due = list(Recording.objects.filter(_claimable(now)).values_list("pk", flat=True))
    for recording_pk in due:
        _enqueue_fetch(recording_pk)
    return due


def purge_expired_recordings(
    *, now: datetime | None = None, days: int | None = None, dry_run: bool = False
) -> list[Recording]:
    """Delete the audio stored more than `days` (RECORDING_RETENTION_DAYS) ago; the row stays,
    marked purged. Operations on legal hold are skipped. Every purge is logged."""
    now = now or timezone.now()
    days = settings.RECORDING_RETENTION_DAYS if days is None else days
    cutoff = now - timedelta(days=days)
    expired = Recording.objects.filter(
        status=FetchStatus.STORED, stored_at__lt=cutoff, operation__legal_hold=False
    ).select_related("operation")
    purged = []
    for recording in expired:
        if dry_run:
            purged.append(recording)
            continue
        name = recording.file.name
        # The row first, re-checking the hold: an operator may set it this very moment. A
        # crash between the two leaves a file no row points to, never a row without its file.
        marked = Recording.objects.filter(
            pk=recording.pk, status=FetchStatus.STORED, operation__legal_hold=False
        ).update(status=FetchStatus.PURGED, purged_at=now, file="", updated_at=now)
        if not marked:
            continue
        if name:
            default_storage.delete(name)
        logger.info(
            "Purged the recording of operation %s (%s, stored %s, retention %s days)",
            recording.operation.graph_id,
            name,
            recording.stored_at.isoformat(),
            days,
        )
        recording.refresh_from_db()
        purged.append(recording)
    return purged
