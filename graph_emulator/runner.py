"""Runs one record operation on a background thread: fetch the prompts, plan with the media
engine, wait for the planned end in scaled real time, then settle the operation (unless a
cancel or a hang-up settled it first)."""

import logging
import time

from django.utils import timezone

from graph_emulator import background, clock, faults, services
from graph_emulator.audio import PromptError, prompt_seconds
from graph_emulator.engine import PromptPlay, RecordParams, plan_recording
from graph_emulator.models import FaultName, Operation
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


def run_record_operation(op_id: str) -> None:
    op = Operation.objects.select_related("call").filter(pk=op_id).first()
    if op is None or op.status != Operation.Status.RUNNING:
        return
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
    if not Operation.objects.filter(pk=op_id, status=Operation.Status.RUNNING).update(
        plan=outcome.to_json(), timeline_started_at=timezone.now()
    ):
        return
    wakeup = background.wakeup_event(op_id)
    try:
        deadline = time.monotonic() + clock.to_real(outcome.ends_at)
        while (remaining := deadline - time.monotonic()) > 0:
            if wakeup.wait(min(POLL_SECONDS, remaining)):
                return
            if not Operation.objects.filter(pk=op_id, status=Operation.Status.RUNNING).exists():
                return
        services.complete_as_planned(op_id, outcome)
    finally:
        background.forget_wakeup(op_id)
