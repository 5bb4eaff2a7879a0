"""The media engine, as a pure function.

`plan_recording()` turns (the prompts with their real durations, the record parameters, the
caller's script, the media faults) into one `Outcome`: why and when the operation ends, and
what the recording holds. Times are emulated seconds from the moment the media platform
starts the operation (prompts start at 0). The runner (runner.py) then waits for `ends_at`
in scaled real time; `cut()` shortens a plan when the call ends first.

Rules, after Graph's documentation of record / recordResponse:

- Prompts play in order with their real durations, a media prompt `loop` times, a silence
  prompt for its `duration`; then the beep (0.5 s) unless `playBeep` is false. Recording
  starts when the beep ends.
- The caller's script starts when recording starts, or `interrupt S` seconds into the prompts.
  With `bargeInAllowed`, caller speech or keys during the prompts or beep cut them short and
  recording starts at once (that input is recorded); without it, that input is lost.
- Initial silence counts from the start of recording until the caller first speaks or presses
  a key; max silence is any later pause; max duration is a hard cap. A pause exactly as long
  as its timeout ends the recording.
- Stop tones: keys pressed while recording are matched as a sequence (validation admits
  one-key tones only, README.md); detection is at the end of the key that completes it, and
  that key is in the recording.
- `stall`: the caller's media stops. The silence timers freeze (no media, no silence to
  measure); after 10 s without media the operation fails with mediaReceiveTimeout unless
  something else ended it first.
- `hangup` ends the operation with reason `none`: completed, with the audio so far.
- Several reasons at the same instant: the first of hang-up, prompt/beep failure, stop tone,
  initial silence, max silence, max duration, media receive timeout wins.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from graph_emulator.script import KEY_SECONDS, Script

BEEP_SECONDS = 0.5
MEDIA_RECEIVE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Result:
    status: str
    code: int
    subcode: int
    message: str


# resultInfo per completion reason. 8515 and 8508 are Graph's documented pairs; the other
# subcodes are the emulator's own choice (listed in README.md).
RESULTS: dict[str, Result] = {
    "stopToneDetected": Result("completed", 200, 8511, "Action completed, stop tone detected."),
    "maxRecordDurationReached": Result(
        "completed", 200, 8515, "Action completed, max record duration reached."
    ),
    "initialSilenceTimeout": Result(
        "completed", 200, 8516, "Action completed, initial silence timeout reached."
    ),
    "maxSilenceTimeout": Result(
        "completed", 200, 8517, "Action completed, max silence timeout reached."
    ),
    "none": Result("completed", 200, 8518, "Action completed, the call ended during recording."),
    "operationCanceled": Result("failed", 400, 8508, "Action failed, the operation was cancelled."),
    "playPromptFailed": Result(
        "failed", 400, 8531, "Action failed, the prompt could not be played."
    ),
    "playBeepFailed": Result("failed", 500, 8532, "Action failed, the beep could not be played."),
    "mediaReceiveTimeout": Result(
        "failed", 500, 8533, "Action failed, no media was received from the caller."
    ),
    "unspecifiedError": Result("failed", 500, 8534, "Action failed, an unspecified media error."),
    # A playPrompt that played all its prompts (Graph's playPromptOperation completion).
    "completedSuccessfully": Result("completed", 200, 0, "Action completed successfully."),
}

# Earlier wins when two reasons fall on the same instant.
_PRIORITY = {
    "none": 0,
    "playPromptFailed": 1,
    "playBeepFailed": 1,
    "stopToneDetected": 2,
    "initialSilenceTimeout": 3,
    "maxSilenceTimeout": 4,
    "maxRecordDurationReached": 5,
    "mediaReceiveTimeout": 6,
}


@dataclass(frozen=True)
class PromptPlay:
    """One prompt as the media platform found it: `seconds` is one play's real length, None
    when it cannot be played (then `error` says why)."""

    kind: str  # media | silence
    seconds: float | None
    loop: int = 1
    error: str = ""
    label: str = ""


@dataclass(frozen=True)
class RecordParams:
    barge_in: bool = False
    play_beep: bool = True
    initial_silence: float = 5.0
    max_silence: float = 5.0
    max_duration: float = 5.0
    stop_tones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    kind: str  # speech | dtmf | silence | nomedia
    key: str = ""


@dataclass(frozen=True)
class Outcome:
    reason: str
    ends_at: float
    # When recording started (None if it never did); `segments` cover [record_start, ends_at].
    record_start: float | None = None
    segments: tuple[Segment, ...] = ()
    caller_hung_up: bool = False
    detail: str = ""
    timeline: tuple[tuple[float, str], ...] = field(default=())
    # Every key the caller presses before the end, recorded or not: (when it ends, key).
    keys: tuple[tuple[float, str], ...] = ()

    @property
    def result(self) -> Result:
        return RESULTS[self.reason]

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def message(self) -> str:
        if self.detail:
            return f"{self.result.message.rstrip('.')}: {self.detail}"
        return self.result.message

    @property
    def has_recording(self) -> bool:
        return self.status == "completed" and self.reason != "operationCanceled"

    @property
    def recorded_seconds(self) -> float:
        if self.record_start is None or not self.has_recording:
            return 0.0
        return max(0.0, self.ends_at - self.record_start)

    def to_json(self) -> dict:
        data = asdict(self)
        data["segments"] = [asdict(s) for s in self.segments]
        data["timeline"] = [list(item) for item in self.timeline]
        data["keys"] = [list(item) for item in self.keys]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Outcome":
        return cls(
            reason=data["reason"],
            ends_at=data["ends_at"],
            record_start=data.get("record_start"),
            segments=tuple(Segment(**s) for s in data.get("segments", ())),
            caller_hung_up=data.get("caller_hung_up", False),
            detail=data.get("detail", ""),
            timeline=tuple((t, text) for t, text in data.get("timeline", ())),
            keys=tuple((t, key) for t, key in data.get("keys", ())),
        )


def _r(t: float) -> float:
    # Sums of decimal seconds drift (0.1 + 0.2); compare times at microsecond grain.
    return round(t, 6)


@dataclass(frozen=True)
class _Activity:
    start: float
    end: float
    kind: str  # speech | dtmf
    key: str = ""


def _caller(script: Script, start: float) -> tuple[list[_Activity], float | None, float | None]:
    """The caller's input from `start` on, and when they hang up or their media stops."""
    t = start
    acts: list[_Activity] = []
    for step in script.steps:
        if step.kind == "silence":
            t = _r(t + step.seconds)
        elif step.kind == "speak":
            acts.append(_Activity(t, _r(t + step.seconds), "speech"))
            t = _r(t + step.seconds)
        elif step.kind == "press":
            for key in step.keys:
                acts.append(_Activity(t, _r(t + KEY_SECONDS), "dtmf", key))
                t = _r(t + KEY_SECONDS)
        elif step.kind == "hangup":
            return acts, t, None
        elif step.kind == "stall":
            return acts, None, t
    return acts, None, None


def plan_recording(
    *,
    prompts: Sequence[PromptPlay],
    params: RecordParams,
    script: Script,
    beep_fails: bool = False,
    media_error: bool = False,
) -> Outcome:
    timeline: list[tuple[float, str]] = []
    if media_error:
        return Outcome("unspecifiedError", 0.0, timeline=((0.0, "media platform error"),))

    # The prompts, then the beep, as they would play without interruption.
    t = 0.0
    prompt_failure: tuple[float, str] | None = None
    for index, prompt in enumerate(prompts, start=1):
        name = prompt.label or f"prompt {index}"
        if prompt.seconds is None:
            prompt_failure = (t, prompt.error or f"{name} could not be played")
            break
        for n in range(max(1, prompt.loop)):
            loop_note = f" (play {n + 1} of {prompt.loop})" if prompt.loop > 1 else ""
            timeline.append((t, f"{name} plays{loop_note}"))
            t = _r(t + prompt.seconds)
    prompt_end = t
    beep_fails = beep_fails and params.play_beep and prompt_failure is None
    nominal_start = _r(prompt_end + (BEEP_SECONDS if params.play_beep else 0.0))
    if prompt_failure:
        pre_end = prompt_failure[0]
    elif beep_fails:
        pre_end = prompt_end
    else:
        pre_end = nominal_start

    script_start = script.interrupt_at if script.interrupt_at is not None else nominal_start
    acts, hangup_at, stall_at = _caller(script, script_start)

    events: list[tuple[float, str, str]] = []  # (time, reason, detail)
    if hangup_at is not None:
        events.append((hangup_at, "none", ""))
    if stall_at is not None:
        events.append((_r(stall_at + MEDIA_RECEIVE_TIMEOUT), "mediaReceiveTimeout", ""))

    barge = None
    if params.barge_in:
        barge = next((a.start for a in acts if a.start < pre_end), None)
    if barge is not None:
        record_start = barge
        timeline.append((barge, "caller barges in: prompts stop, recording starts"))
    else:
        record_start = nominal_start
        if prompt_failure:
            events.append((prompt_failure[0], "playPromptFailed", prompt_failure[1]))
        elif beep_fails:
            events.append((prompt_end, "playBeepFailed", ""))
        elif params.play_beep:
            timeline.append((prompt_end, "beep"))
    recording_possible = barge is not None or not (prompt_failure or beep_fails)

    if recording_possible:
        # Only input inside the recording counts: keys must start in it, speech is clipped.
        heard = [
            _Activity(max(a.start, record_start), a.end, a.kind, a.key)
            for a in acts
            if (a.start >= record_start if a.kind == "dtmf" else a.end > record_start)
        ]
        events.append((_r(record_start + params.max_duration), "maxRecordDurationReached", ""))
        typed = ""
        for a in heard:
            if a.kind != "dtmf":
                continue
            typed += a.key
            tone = next((s for s in params.stop_tones if s and typed.endswith(s)), None)
            if tone:
                events.append((a.end, "stopToneDetected", ""))
                break
        started = False
        last_end = record_start
        silence_event = None
        for a in heard:
            if not started:
                deadline = _r(record_start + params.initial_silence)
                if a.start >= deadline:
                    silence_event = (deadline, "initialSilenceTimeout", "")
                    break
                started = True
            else:
                deadline = _r(last_end + params.max_silence)
                if a.start >= deadline:
                    silence_event = (deadline, "maxSilenceTimeout", "")
                    break
            last_end = max(last_end, a.end)
        else:
            if started:
                silence_event = (_r(last_end + params.max_silence), "maxSilenceTimeout", "")
            else:
                deadline = _r(record_start + params.initial_silence)
                silence_event = (deadline, "initialSilenceTimeout", "")
        # Silence is measured on media; once the media stops, the silence timers stand still.
        if silence_event and (stall_at is None or silence_event[0] <= stall_at):
            events.append(silence_event)
    else:
        heard = []

    ends_at, reason, detail = min(events, key=lambda e: (_r(e[0]), _PRIORITY[e[1]]))
    ends_at = _r(ends_at)
    if hangup_at is not None and hangup_at <= ends_at:
        timeline.append((hangup_at, "caller hangs up"))
    if stall_at is not None and stall_at <= ends_at:
        timeline.append((stall_at, "caller's media stops"))

    started_recording = recording_possible and record_start <= ends_at
    segments: tuple[Segment, ...] = ()
    if started_recording:
        timeline.append((record_start, "recording starts"))
        segments = _segments(heard, record_start, ends_at, stall_at)
    timeline.append((ends_at, f"operation ends: {reason}"))
    timeline.sort(key=lambda item: item[0])
    return Outcome(
        reason=reason,
        ends_at=ends_at,
        record_start=record_start if started_recording else None,
        segments=segments,
        caller_hung_up=reason == "none",
        detail=detail,
        timeline=tuple(timeline),
        keys=tuple((a.end, a.key) for a in acts if a.kind == "dtmf" and a.end <= ends_at),
    )


def plan_prompts(*, prompts: Sequence[PromptPlay], media_error: bool = False) -> Outcome:
    """A playPrompt: the prompts play in order for their real length (no beep, no caller)."""
    if media_error:
        return Outcome("unspecifiedError", 0.0, timeline=((0.0, "media platform error"),))
    t = 0.0
    timeline: list[tuple[float, str]] = []
    for index, prompt in enumerate(prompts, start=1):
        name = prompt.label or f"prompt {index}"
        if prompt.seconds is None:
            error = prompt.error or f"{name} could not be played"
            timeline.append((t, f"operation ends: playPromptFailed ({error})"))
            return Outcome("playPromptFailed", t, detail=error, timeline=tuple(timeline))
        for _ in range(max(1, prompt.loop)):
            timeline.append((t, f"{name} plays"))
            t = _r(t + prompt.seconds)
    timeline.append((t, "operation ends: completedSuccessfully"))
    return Outcome("completedSuccessfully", t, timeline=tuple(timeline))


def _segments(
    heard: list[_Activity], start: float, end: float, stall_at: float | None
) -> tuple[Segment, ...]:
    """What the recording holds over [start, end]: the caller's input, silence between."""
    out: list[Segment] = []
    t = start
    media_end = end if stall_at is None else max(start, min(end, stall_at))
    for a in heard:
        if a.start >= media_end:
            break
        if a.start > t:
            out.append(Segment(t, a.start, "silence"))
        out.append(Segment(max(a.start, t), min(a.end, media_end), a.kind, a.key))
        t = min(a.end, media_end)
    if t < media_end:
        out.append(Segment(t, media_end, "silence"))
    if media_end < end:
        out.append(Segment(media_end, end, "nomedia"))
    return tuple(s for s in out if s.end > s.start)


def cut(outcome: Outcome, at: float) -> Outcome:
    """The plan when the call ends `at` seconds in: reason `none`, the audio so far.

    A plan already due by then stands: its own end came first.
    """
    at = _r(max(at, 0.0))
    if at >= outcome.ends_at:
        return outcome
    record_start = outcome.record_start
    segments: tuple[Segment, ...] = ()
    if record_start is not None and record_start <= at:
        segments = tuple(
            Segment(s.start, min(s.end, at), s.kind, s.key)
            for s in outcome.segments
            if s.start < at
        )
    else:
        record_start = None
    timeline = tuple(
        item
        for item in outcome.timeline
        if item[0] <= at and not item[1].startswith("operation ends")
    )
    return Outcome(
        reason="none",
        ends_at=at,
        record_start=record_start,
        segments=segments,
        caller_hung_up=False,
        timeline=(*timeline, (at, "call ends: operation ends: none")),
        keys=tuple(item for item in outcome.keys if item[0] <= at),
    )


def canceled(at: float, *, why: str = "cancelMediaProcessing") -> Outcome:
    return Outcome("operationCanceled", _r(max(at, 0.0)), timeline=((at, why),))
