"""Plays one media operation out on a background thread: wait for its turn in the call's
queue, fetch the prompts, plan with the media engine (a recording, or prompts only), and wait
for the planned end in scaled real time. Settling the operation is the caller's
(services.run_media_operation), so the runner needs nothing from services."""

import logging
import time
from collections.abc import Callable

from django.utils import timezone

from graph_emulator import background, clock, faults
from graph_emulator.audio import PromptError, prompt_seconds
from graph_emulator.engine import Outcome, PromptPlay, RecordParams, plan_prompts, plan_recording
from graph_emulator.models import MEDIA_KINDS, FaultName, Operation, OperationStatus
from graph_emulator.script import Script, ScriptError, parse_script
from graph_emulator.transport import fetch_prompt

logger = logging.getLogger(__name__)

# Real seconds between looks at the database while waiting, to notice a cancel or a hang-up
# made by another process (one in this process wakes the runner at once).
POLL_SECONDS = 0.25


def load_prompts(specs: list[dict]) -> list[PromptPlay]:
    """The prompts as the media platform finds them, fetching each URI once."""
    plays: list[PromptPlay] = []
    lengths: dict[str, float] = {}
    for index, spec in enumerate(specs, start=1):
        if spec["kind"] == "silence":
            plays.append(PromptPlay("silence", spec["ms"] / 1000, label=f"silence {spec['ms']} ms"))
            continue
        uri = spec["uri"]
        label = f"prompt {index} ({uri})"
        if uri not in lengths:
            try:
                lengths[uri] = prompt_seconds(fetch_prompt(uri))
            except PromptError as err:
                plays.append(PromptPlay("media", None, error=f"{label}: {err}", label=label))
                break  # the platform stops at the first prompt it cannot play
        plays.append(PromptPlay("media", lengths[uri], loop=spec.get("loop", 1), label=label))
    return plays


def params_of(parameters: dict) -> RecordParams:
    return RecordParams(
        barge_in=bool(parameters.get("bargeInAllowed")),
        play_beep=parameters.get("playBeep", True) is not False,
        initial_silence=float(parameters.get("initialSilenceTimeoutInSeconds", 5)),
        max_silence=float(parameters.get("maxSilenceTimeoutInSeconds", 5)),
        max_duration=float(parameters.get("maxRecordDurationInSeconds", 5)),
        stop_tones=tuple(parameters.get("stopTones", ())),
    )


def wait_for_turn(op_id: str) -> bool:
    """Wait until no media operation queued before this one on its call is still running.
    False when this one was settled meanwhile (cancelled, barged into, the call ended)."""
    op = Operation.objects.filter(pk=op_id).first()
    if op is None:
        return False
    key = f"turn:{op_id}"
    wakeup = background.wakeup_event(key)
    try:
        while True:
            if not Operation.objects.filter(pk=op_id, status=OperationStatus.RUNNING).exists():
                return False
            ahead = Operation.objects.filter(
                call_id=op.call_id,
                kind__in=MEDIA_KINDS,
                status=OperationStatus.RUNNING,
                created_at__lte=op.created_at,
            ).exclude(pk=op_id)
            if (
                not ahead.filter(created_at__lt=op.created_at).exists()
                and not ahead.filter(created_at=op.created_at, id__lt=op_id).exists()
            ):
                return True
            wakeup.wait(POLL_SECONDS)
            wakeup.clear()
    finally:
        background.forget_wakeup(key)


def play_operation(
    op_id: str, on_start: Callable[[str, Outcome], None] | None = None
) -> Outcome | None:
    """Play a media operation out; `on_start(op_id, plan)` runs once it has started."""
    op = Operation.objects.filter(pk=op_id).only("kind").first()
    if op is not None and op.kind == Operation.Kind.PLAY_PROMPT:
        return play_prompt_operation(op_id, on_start)
    return play_record_operation(op_id, on_start)


def play_record_operation(
    op_id: str, on_start: Callable[[str, Outcome], None] | None = None
) -> Outcome | None:
    """The outcome the operation reached at its planned end, still running; None when it
    was not running, or a cancel or a hang-up settled it meanwhile."""
    op = Operation.objects.select_related("call").filter(pk=op_id).first()
    if op is None or op.status != OperationStatus.RUNNING:
        return None
    params = params_of(op.parameters)
    media_error = faults.take(FaultName.MEDIA_ERROR) is not None
    beep_fails = params.play_beep and faults.take(FaultName.BEEP_FAILS) is not None
    prompts = [] if media_error else load_prompts(op.parameters.get("prompts", []))
    try:
        script = parse_script(op.call.script)
    except ScriptError:
        script = Script()  # checked when the call was placed; a silent caller otherwise
    outcome = plan_recording(
        prompts=prompts,
        params=params,
        script=script,
        beep_fails=beep_fails,
        media_error=media_error,
    )
    return _play_out(op_id, outcome, on_start)


def play_prompt_operation(
    op_id: str, on_start: Callable[[str, Outcome], None] | None = None
) -> Outcome | None:
    """A playPrompt operation: its prompts play for their real length, then it completes."""
    op = Operation.objects.filter(pk=op_id).first()
    if op is None or op.status != OperationStatus.RUNNING:
        return None
    media_error = faults.take(FaultName.MEDIA_ERROR) is not None
    prompts = [] if media_error else load_prompts(op.parameters.get("prompts", []))
    return _play_out(op_id, plan_prompts(prompts=prompts, media_error=media_error), on_start)


def _play_out(
    op_id: str, outcome: Outcome, on_start: Callable[[str, Outcome], None] | None
) -> Outcome | None:
    """Store the plan, then wait for its end: the outcome, or None if settled meanwhile."""
    if not Operation.objects.filter(pk=op_id, status=OperationStatus.RUNNING).update(
        plan=outcome.to_json(), timeline_started_at=timezone.now()
    ):
        return None
    if on_start is not None:
        on_start(op_id, outcome)
    wakeup = background.wakeup_event(op_id)
    try:
        deadline = time.monotonic() + clock.to_real(outcome.ends_at)
        while (remaining := deadline - time.monotonic()) > 0:
            if wakeup.wait(min(POLL_SECONDS, remaining)):
                return None
            if not Operation.objects.filter(pk=op_id, status=OperationStatus.RUNNING).exists():
                return None
        return outcome
    finally:
        background.forget_wakeup(op_id)
