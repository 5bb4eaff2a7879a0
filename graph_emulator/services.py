"""What happens to calls and operations. Views, the admin and the command call these, and the
record threads this module starts (the runner plays an operation out; it is settled here).
State changes that can race are conditional updates, so exactly one writer wins
(cancel vs. natural completion vs. hang-up) and exactly one completion is sent.
"""

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.models import F
from django.utils import timezone

from graph_emulator import background, clock, faults, notifications, payloads, runner
from graph_emulator.audio import RATE, recording_chunks, speech_chunks, write_wav
from graph_emulator.engine import Outcome, canceled, cut
from graph_emulator.errors import bad_request, call_not_found
from graph_emulator.models import (
    LIVE_CALL_STATES,
    MEDIA_KINDS,
    Call,
    CallState,
    FaultName,
    Operation,
    OperationStatus,
)
from graph_emulator.script import parse_script
from graph_emulator.transport import check_loopback

logger = logging.getLogger(__name__)

DEFAULT_CALLER = "+15550100"
ESTABLISH_DELAY = 0.5  # emulated seconds between establishing and established
# A running operation this long (real seconds) past its planned end, or this long without a
# plan, has lost its runner: the next request that touches its call settles it.
OVERDUE_GRACE_SECONDS = 2.0
LOST_RUNNER_SECONDS = 300.0
# How the call ended, as its terminated notification says it (call-delete.md).
END_RESULTS = {
    Call.EndedBy.BOT: (7000, 10550, "The call was ended by the application."),
    Call.EndedBy.CALLER: (200, 5002, "The call ended: all other participants left."),
    Call.EndedBy.KEEPALIVE: (408, 8537, "The call was ended: no keepAlive was received in time."),
}
# Not documented by Graph for this case; the emulator's choice (README.md).
NOT_ANSWERED = (408, 5002, "The call was not answered in time.")


def keepalive_timeout() -> float:
    """Emulated seconds a call lives without a keepAlive (Graph: 45 minutes)."""
    return float(getattr(settings, "GRAPH_EMULATOR_KEEPALIVE_TIMEOUT", 45 * 60.0))


def answer_timeout() -> float:
    """Emulated seconds an incoming call rings before it is gone."""
    return float(getattr(settings, "GRAPH_EMULATOR_ANSWER_TIMEOUT", 15.0))


def recordings_dir() -> Path:
    return Path(settings.GRAPH_EMULATOR_DATA_DIR) / "recordings"


# --- Calls ----------------------------------------------------------------------------------


def place_call(*, script: str, caller: str = DEFAULT_CALLER, callback_url: str = "") -> Call:
    """Ring the bot: a new incoming call. Raises ScriptError / NotLoopback / ValueError."""
    parse_script(script)
    caller = (caller or DEFAULT_CALLER).strip()
    if not caller or len(caller) > 64:
        raise ValueError("The caller id must be 1 to 64 characters.")
    callback_url = callback_url or settings.GRAPH_EMULATOR_CALLBACK_URL
    check_loopback(callback_url)
    return Call.objects.create(
        script=script,
        caller=caller,
        callback_url=callback_url,
        tenant_id=settings.EMULATOR_TENANT_ID,
    )


def announce_call(call: Call, *, wait: bool) -> None:
    """Post the `created` notification: now (`wait`, for a process about to exit, like the
    `emulator_call` command) or on a background thread that also ends the call if nobody
    answers in time. Without that thread the call still ends when it is next touched."""
    if wait:
        _announce(call.id)
    else:
        background.spawn_on_commit(_announce, call.id, name=f"created-{call.id}")
        background.spawn_on_commit(_ring_timer, call.id, name=f"ring-{call.id}")


def _announce(call_id: str) -> None:
    call = Call.objects.get(pk=call_id)
    notifications.notify(
        call=call,
        notification=payloads.call_notification(call, "created"),
        summary="call created (incoming)",
        # Nothing came before it to swap with, and holding it would stop the call from
        # ever being answered.
        may_hold=False,
    )


def _ring_timer(call_id: str) -> None:
    key = f"ring:{call_id}"
    try:
        # An answer in this process ends the wait early; one elsewhere loses the race below.
        if not background.wakeup_event(key).wait(clock.to_real(answer_timeout()) + 0.01):
            _end_unanswered(call_id)
    finally:
        background.forget_wakeup(key)


def _end_unanswered(call_id: str) -> bool:
    return _end_incoming(call_id, Call.EndedBy.RING_TIMEOUT, NOT_ANSWERED)


def _end_incoming(call_id: str, by: str, result: tuple[int, int, str], **changes: object) -> bool:
    """An incoming call ends without being answered: straight to terminated."""
    code, subcode, message = result
    won = Call.objects.filter(pk=call_id, state=CallState.INCOMING).update(
        state=CallState.TERMINATED,
        ended_by=by,
        ended_at=timezone.now(),
        result_code=code,
        result_subcode=subcode,
        result_message=message,
        etag=F("etag") + 1,
        **changes,
    )
    if won:
        background.wake(f"ring:{call_id}")
        background.spawn_on_commit(_notify_call, call_id, "deleted", name=f"ended-{call_id}")
    return bool(won)


# Graph documents no resultInfo for a rejected call; the emulator's choice (README.md): the
# SIP status each reason stands for.
REJECTED = {
    "none": (603, 0, "The call was rejected by the application."),
    "busy": (486, 0, "The call was rejected by the application: busy."),
    "forbidden": (403, 0, "The call was rejected by the application: forbidden."),
}


def reject_call(*, call: Call, reason: str, callback_uri: str = "") -> None:
    """The bot rejects an incoming call: it ends at once, with a terminated notification (to
    `callback_uri` when given)."""
    if call.state != CallState.INCOMING:
        raise bad_request(f"The call is {call.state}: only an incoming call can be rejected.")
    changes = {"callback_url": callback_uri} if callback_uri else {}
    if not _end_incoming(call.id, Call.EndedBy.REJECTED, REJECTED[reason], **changes):
        raise bad_request("The call was answered or ended while this request ran.")


def _notify_call(call_id: str, change_type: str) -> None:
    call = Call.objects.get(pk=call_id)
    notifications.notify(
        call=call,
        notification=payloads.call_notification(call, change_type),
        summary=f"call {call.state}",
    )


def find_live_call(call_id: str) -> Call:
    """The call, or GraphProblem 404 8522 when it is unknown or over."""
    call = Call.objects.filter(pk=call_id.lower()).first()
    if call is None:
        raise call_not_found()
    if (
        call.state == CallState.INCOMING
        and clock.emulated_since(call.created_at) > answer_timeout()
        and _end_unanswered(call.id)
    ):
        call.refresh_from_db()
    if not call.is_live:
        raise call_not_found()
    if _end_if_keepalive_missed(call):
        raise call_not_found()
    settle_overdue(call)
    return call


def answer_call(*, call: Call, callback_uri: str) -> None:
    if call.state != CallState.INCOMING:
        raise bad_request(f"The call is {call.state}: only an incoming call can be answered.")
    if clock.emulated_since(call.created_at) > answer_timeout():
        _end_unanswered(call.id)
        raise call_not_found()
    now = timezone.now()
    won = Call.objects.filter(pk=call.pk, state=CallState.INCOMING).update(
        state=CallState.ESTABLISHING,
        callback_url=callback_uri,
        answered_at=now,
        keepalive_at=now,
        etag=F("etag") + 1,
    )
    if not won:
        raise bad_request("The call was answered or ended while this request ran.")
    background.wake(f"ring:{call.id}")
    background.spawn_on_commit(_establish, call.id, name=f"establish-{call.id}")
    background.spawn_on_commit(_keepalive_watch, call.id, name=f"keepalive-{call.id}", watcher=True)


def keep_alive(*, call: Call) -> None:
    """The bot's keepAlive: the call lives another `keepalive_timeout()` from now."""
    Call.objects.filter(pk=call.pk).update(keepalive_at=timezone.now())


def _end_if_keepalive_missed(call: Call) -> bool:
    """End an answered call whose last keepAlive is too old: True if this ended it."""
    if call.keepalive_at is None or not call.is_live:
        return False
    if clock.emulated_since(call.keepalive_at) <= keepalive_timeout():
        return False
    # Conditional on the keepAlive time read, so one that arrives meanwhile saves the call.
    if not _start_ending(call.id, Call.EndedBy.KEEPALIVE, keepalive_at=call.keepalive_at):
        return False
    background.spawn_on_commit(end_call, call.id, name=f"keepalive-end-{call.id}")
    return True


# Real seconds between a watcher's looks at its call: it notices a call ended elsewhere.
KEEPALIVE_POLL_SECONDS = 1.0


def _keepalive_watch(call_id: str) -> None:
    """Ends the call when its keepAlive is overdue; exits once the call is over."""
    while True:
        call = Call.objects.filter(pk=call_id).first()
        if call is None or not call.is_live or _end_if_keepalive_missed(call):
            return
        due = keepalive_timeout() - clock.emulated_since(call.keepalive_at)
        # No connection is held while asleep (tests flush the database meanwhile).
        connections.close_all()
        if background.sleep_unless_stopped(min(clock.to_real(due) + 0.01, KEEPALIVE_POLL_SECONDS)):
            return


def _establish(call_id: str) -> None:
    _notify_call(call_id, "updated")
    time.sleep(clock.to_real(ESTABLISH_DELAY))
    if Call.objects.filter(pk=call_id, state=CallState.ESTABLISHING).update(
        state=CallState.ESTABLISHED, etag=F("etag") + 1
    ):
        _notify_call(call_id, "updated")


def hang_up(*, call: Call) -> None:
    """The bot ends the call (DELETE)."""
    if not _start_ending(call.id, Call.EndedBy.BOT):
        raise call_not_found()
    background.spawn_on_commit(end_call, call.id, name=f"hangup-{call.id}")


def caller_hangs_up(call_id: str) -> None:
    if _start_ending(call_id, Call.EndedBy.CALLER):
        end_call(call_id)


def _start_ending(call_id: str, by: str, **conditions: object) -> bool:
    won = Call.objects.filter(pk=call_id, state__in=LIVE_CALL_STATES, **conditions).update(
        state=CallState.TERMINATING,
        ended_by=by,
        ended_at=timezone.now(),
        etag=F("etag") + 1,
    )
    if won:
        background.wake(f"ring:{call_id}")
    return bool(won)


def end_call(call_id: str) -> None:
    """After `_start_ending`: settle a running recording, then terminating, terminated."""
    for op in reversed(list(_active_media(call_id))):
        finish_operation(op.id, outcome_at_hangup(op), after_hangup=True)
    _notify_call(call_id, "updated")
    ended_by = Call.objects.values_list("ended_by", flat=True).get(pk=call_id)
    code, subcode, message = END_RESULTS[ended_by]
    if Call.objects.filter(pk=call_id, state=CallState.TERMINATING).update(
        state=CallState.TERMINATED,
        result_code=code,
        result_subcode=subcode,
        result_message=message,
        etag=F("etag") + 1,
    ):
        _notify_call(call_id, "deleted")


# --- Operations -----------------------------------------------------------------------------


def start_record(
    *, call: Call, profile: str, params: dict, location_for: Callable[[str], str]
) -> Operation:
    """A record action: it runs now, or after the media operations queued before it."""
    return start_media_operation(
        call=call,
        profile=profile,
        kind=Operation.Kind.RECORD,
        params=params,
        recording_location=location_for,
    )


def start_media_operation(
    *,
    call: Call,
    profile: str,
    kind: str,
    params: dict,
    recording_location: Callable[[str], str] | None = None,
) -> Operation:
    """Queue a media operation (record, playPrompt) on the call. Graph runs them one at a time
    in the order they came; `bargeInAllowed` on the new one cancels the running and queued
    ones first, so it starts at once."""
    if call.state != CallState.ESTABLISHED:
        raise bad_request(
            f"The call is {call.state}; {kind} works only on an established call. "
            "Wait for its 'established' notification."
        )
    if params.get("bargeInAllowed"):
        _cancel_media(call, reason="a later operation barged in")
    op_id = str(uuid.uuid4())
    op = Operation.objects.create(
        id=op_id,
        call=call,
        profile=profile,
        kind=kind,
        status=OperationStatus.RUNNING,
        client_context=params.get("clientContext", ""),
        parameters=params,
        recording_location=recording_location(op_id) if recording_location else "",
        access_token=secrets.token_urlsafe(32) if kind == Operation.Kind.RECORD else "",
    )
    background.spawn_on_commit(run_media_operation, op.id, name=f"{kind}-{op.id}")
    return op


def run_media_operation(op_id: str) -> None:
    """A media operation's background thread: it waits for its turn, the runner plays it out,
    and an operation that reaches its planned end is settled as planned."""
    if not runner.wait_for_turn(op_id):
        return
    outcome = runner.play_operation(op_id, on_start=_start_tone_reports)
    if outcome is not None:
        complete_as_planned(op_id, outcome)


def subscribe_to_tone(*, call: Call, profile: str, client_context: str) -> Operation:
    """From now on the caller's keys arrive as toneInfo notifications. Completes at once."""
    Call.objects.filter(pk=call.pk).update(tone_subscribed=True)
    return Operation.objects.create(
        call=call,
        profile=profile,
        kind=Operation.Kind.SUBSCRIBE_TO_TONE,
        status=OperationStatus.COMPLETED,
        client_context=client_context,
        result_code=200,
        result_subcode=0,
        result_message="Action completed successfully.",
        completed_at=timezone.now(),
    )


def _start_tone_reports(op_id: str, outcome: Outcome) -> None:
    if outcome.keys:
        background.spawn(_report_tones, op_id, outcome, name=f"tones-{op_id}")


def _report_tones(op_id: str, outcome: Outcome) -> None:
    """The caller presses keys only inside a media operation's timeline (the script plays
    per operation): each one reaches a subscribed bot when the key ends."""
    op = Operation.objects.get(pk=op_id)
    started = time.monotonic()
    for at, key in outcome.keys:
        if background.sleep_unless_stopped(started + clock.to_real(at) - time.monotonic()):
            return
        op.refresh_from_db()
        call = Call.objects.get(pk=op.call_id)
        # A key after the operation ended early (cancel, hang-up) was never pressed.
        ended_early = (
            op.is_finished and clock.emulated_since(op.timeline_started_at, op.completed_at) < at
        )
        if ended_early or not call.is_live:
            return
        if not call.tone_subscribed:
            continue
        Call.objects.filter(pk=call.pk).update(tone_sequence=F("tone_sequence") + 1)
        call.refresh_from_db()
        notifications.notify(
            call=call,
            notification=payloads.tone_notification(call, key),
            summary=f"tone {key}",
        )


def cancel_media_processing(*, call: Call, profile: str, client_context: str) -> Operation:
    """Cancel what runs on the call and everything queued. Answers a completed cancel
    operation; each cancelled operation fails with operationCanceled and gets its own
    notification."""
    now = timezone.now()
    cancel_op = Operation.objects.create(
        call=call,
        profile=profile,
        kind=Operation.Kind.CANCEL_MEDIA_PROCESSING,
        status=OperationStatus.COMPLETED,
        client_context=client_context,
        completed_at=now,
    )
    _cancel_media(call, reason="cancelMediaProcessing")
    return cancel_op


def _cancel_media(call: Call, *, reason: str) -> None:
    # The last queued first, so none of them gets its turn while the ones ahead are settled.
    for op in reversed(list(_active_media(call.id))):
        elapsed = clock.emulated_since(op.timeline_started_at) if op.timeline_started_at else 0
        # Settled now, so the operation reads failed as soon as this request answers;
        # the notification follows from a thread.
        if finish_operation(op.id, canceled(min(elapsed, 1e9), why=reason), send=False):
            background.spawn_on_commit(send_completion, op.id, False, name=f"cancelled-{op.id}")


def _active_media(call_id: str):
    """The running media operation and the queued ones, in their order."""
    return Operation.objects.filter(
        call_id=call_id, kind__in=MEDIA_KINDS, status=OperationStatus.RUNNING
    ).order_by("created_at", "id")


def complete_as_planned(op_id: str, outcome: Outcome) -> bool:
    """The operation reached the end its plan foresaw (and the caller may hang up there)."""
    won = finish_operation(op_id, outcome, after_hangup=outcome.caller_hung_up)
    if won and outcome.caller_hung_up:
        caller_hangs_up(Operation.objects.values_list("call_id", flat=True).get(pk=op_id))
    return won


def settle_overdue(call: Call) -> None:
    """Finish record operations whose runner is gone (the server restarted mid-recording):
    their plan says when they end, and that time is well past."""
    now = timezone.now()
    turn_since = None  # when the operation at the head of the queue got its turn
    for op in _active_media(call.id):
        if turn_since is None:
            turn_since = max(op.created_at, _last_media_end(call.id) or op.created_at)
        else:
            break  # the queued ones wait their turn
        if op.plan and op.timeline_started_at:
            outcome = Outcome.from_json(op.plan)
            real = clock.to_real(outcome.ends_at) + OVERDUE_GRACE_SECONDS
            if now > op.timeline_started_at + timedelta(seconds=real):
                background.spawn_on_commit(
                    complete_as_planned, op.id, outcome, name=f"overdue-{op.id}"
                )
        elif now > turn_since + timedelta(seconds=LOST_RUNNER_SECONDS):
            lost = Outcome("unspecifiedError", 0.0, detail="the media platform lost it")
            background.spawn_on_commit(finish_operation, op.id, lost, name=f"lost-{op.id}")


def _last_media_end(call_id: str):
    return (
        Operation.objects.filter(call_id=call_id, kind__in=MEDIA_KINDS, completed_at__isnull=False)
        .order_by("-completed_at")
        .values_list("completed_at", flat=True)
        .first()
    )


def outcome_at_hangup(op: Operation) -> Outcome:
    if not op.plan or not op.timeline_started_at:
        # Still fetching prompts: nothing played, nothing recorded.
        return Outcome("none", 0.0)
    return cut(Outcome.from_json(op.plan), clock.emulated_since(op.timeline_started_at))


def finish_operation(
    op_id: str, outcome: Outcome, *, after_hangup: bool = False, send: bool = True
) -> bool:
    """Settle a running operation with `outcome`. True for the one caller that wins."""
    op = Operation.objects.filter(pk=op_id, status=OperationStatus.RUNNING).first()
    if op is None:
        return False
    part = None
    records = op.kind == Operation.Kind.RECORD and outcome.has_recording
    if records:
        # Written before the conditional update and renamed only by the winner, so a
        # recording is complete the moment its operation reads completed.
        part = recordings_dir() / f"{op_id}.{uuid.uuid4().hex}.part"
        chunks = recording_chunks(outcome.segments, outcome.record_start or 0.0)
        write_wav(part, chunks if outcome.record_start is not None else iter(()))
    now = timezone.now()
    expires = None
    if records:
        expires = now + timedelta(seconds=float(settings.GRAPH_EMULATOR_RECORDING_LIFETIME))
        if faults.take(FaultName.EXPIRE_LINKS) is not None:
            expires = now
    result = outcome.result
    won = Operation.objects.filter(pk=op_id, status=OperationStatus.RUNNING).update(
        status=result.status,
        completion_reason=outcome.reason,
        result_code=result.code,
        result_subcode=result.subcode,
        result_message=outcome.message,
        recording_file=f"{op_id}.wav" if records else "",
        recording_seconds=outcome.recorded_seconds if records else None,
        expires_at=expires,
        plan=outcome.to_json(),
        completed_at=now,
        last_action_at=now,
        etag=F("etag") + 1,
    )
    if not won:
        if part:
            part.unlink(missing_ok=True)
        return False
    if part:
        part.replace(recordings_dir() / f"{op_id}.wav")
    background.wake(op_id)
    # The next queued operation's turn (one waiting in another process notices by polling).
    head = _active_media(op.call_id).first()
    if head is not None:
        background.wake(f"turn:{head.id}")
    purge_expired_recordings()
    if send:
        send_completion(op_id, after_hangup)
    return True


def send_completion(op_id: str, after_hangup: bool) -> None:
    op = Operation.objects.select_related("call").get(pk=op_id)
    kwargs = {
        "call": op.call,
        "notification": payloads.operation_notification(op),
        "summary": f"{op.kind} {op.status}: {op.completion_reason}",
        "operation_id": op.id,
        "profile": op.profile,
    }
    # Graph sends no completion for a media operation the hang-up ended: the call's
    # terminated notification is the only word. `complete_on_hangup` is the kinder variant.
    if after_hangup and faults.take(FaultName.COMPLETE_ON_HANGUP) is None:
        notifications.record_lost(**kwargs)
        return
    notifications.notify(**kwargs)


def recording_path(op: Operation) -> Path | None:
    if not op.recording_file:
        return None
    return recordings_dir() / Path(op.recording_file).name


def purge_expired_recordings() -> None:
    expired = Operation.objects.filter(expires_at__lte=timezone.now()).exclude(recording_file="")
    for op in expired.only("id", "recording_file"):
        path = recording_path(op)
        if path is not None:
            path.unlink(missing_ok=True)


# --- Large recordings for benchmarks ---------------------------------------------------------

# The longest a made-up recording may be: four hours, about 460 MB of 16 kHz mono 16-bit.
MAX_BENCH_SECONDS = 4 * 3600


def make_bench_recording(*, seconds: float, location_for: Callable[[str], str]) -> Operation:
    """A completed record operation with a recording `seconds` long, made at disk speed.

    For benchmarking a bot's download path: no call is rung and nothing is notified; the
    answer names the location and token, as a completion notification would. The audio is
    one second of speech-like signal repeated, so writing 200 MB takes a moment, not the
    hour a real recording would.
    """
    if not 0 < seconds <= MAX_BENCH_SECONDS:
        raise ValueError(f"seconds must be more than 0 and at most {MAX_BENCH_SECONDS}.")
    now = timezone.now()
    call = Call.objects.create(
        state=CallState.TERMINATED,
        caller="bench",
        tenant_id=settings.EMULATOR_TENANT_ID,
        callback_url="",
        ended_at=now,
    )
    op_id = str(uuid.uuid4())
    frames = round(seconds * RATE)
    write_wav(recordings_dir() / f"{op_id}.wav", speech_chunks(frames))
    return Operation.objects.create(
        id=op_id,
        call=call,
        profile=Operation.Profile.BETA_RECORD,
        kind=Operation.Kind.RECORD,
        status=OperationStatus.COMPLETED,
        completion_reason="maxRecordDurationReached",
        recording_location=location_for(op_id),
        access_token=secrets.token_urlsafe(32),
        recording_file=f"{op_id}.wav",
        recording_seconds=frames / RATE,
        expires_at=now + timedelta(seconds=float(settings.GRAPH_EMULATOR_RECORDING_LIFETIME)),
        completed_at=now,
    )
