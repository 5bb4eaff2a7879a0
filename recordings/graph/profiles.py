"""The record action of each Graph profile: its limits, its path, and the body it takes.

`beta-record` is the original beta action (`/app/calls/{id}/record`: silence and media prompts,
loops, streamWhileRecording, recordingFormat); `v1.0` is `recordResponse` as Graph runs it
today (one media prompt, tighter timeouts). tests/fixtures/graph has a sample body of each.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from recordings.graph.vocabulary import PROMPT_KINDS

MEDIA_PROMPT_TYPE = "#microsoft.graph.mediaPrompt"
SILENCE_PROMPT_TYPE = "#microsoft.graph.silencePrompt"
# DTMF keys, one character each. The old beta example's "11" is not a key: it is refused
# here, though build_record_body still builds it when asked directly.
STOP_TONES = frozenset("0123456789*#ABCD")
CLIENT_CONTEXT_MAX = 256

# RecordSpec field -> the body's name for it, for every field but the prompts.
BODY_NAMES = {
    "barge_in_allowed": "bargeInAllowed",
    "play_beep": "playBeep",
    "initial_silence_timeout": "initialSilenceTimeoutInSeconds",
    "max_silence_timeout": "maxSilenceTimeoutInSeconds",
    "max_record_duration": "maxRecordDurationInSeconds",
    "stop_tones": "stopTones",
    "client_context": "clientContext",
    "stream_while_recording": "streamWhileRecording",
    "recording_format": "recordingFormat",
}
# Fields only some profiles have.
EXTRA_FIELDS = frozenset({"stream_while_recording", "recording_format"})
TIMEOUT_LABELS = {
    "initial_silence_timeout": "The initial silence timeout",
    "max_silence_timeout": "The maximum silence timeout",
    "max_record_duration": "The maximum record duration",
}


@dataclass(frozen=True)
class PromptSpec:
    kind: Literal["media", "silence"]
    uri: str = ""
    resource_id: str = ""
    loop: int | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class RecordSpec:
    """A record action as the operator chose it. None or empty: not sent (Graph's default)."""

    prompts: tuple[PromptSpec, ...] = ()
    barge_in_allowed: bool | None = None
    play_beep: bool | None = None
    initial_silence_timeout: int | None = None
    max_silence_timeout: int | None = None
    max_record_duration: int | None = None
    stop_tones: tuple[str, ...] = ()
    client_context: str = ""
    stream_while_recording: bool | None = None
    recording_format: str = ""

    def __post_init__(self) -> None:
        # Lists are welcome as input; stored as tuples so the spec stays immutable.
        object.__setattr__(self, "prompts", tuple(self.prompts))
        object.__setattr__(self, "stop_tones", tuple(self.stop_tones))


@dataclass(frozen=True)
class ProfileRules:
    """One profile's limits: the one table the Record form, the `record` command and
    start_recording check against (validate_record_spec), equal to what Graph (and the
    bundled emulator) refuses beyond; tests/recordings/graph/test_profiles.py pins them."""

    name: str
    record_path_template: str
    prompt_kinds: frozenset[str]
    max_prompts: int | None
    loop_allowed: bool
    # The most times a media prompt plays (its loop), where loops are allowed.
    max_loop: int
    # The longest silence prompt, in milliseconds.
    silence_max_ms: int
    # RecordSpec timeout field -> (lowest, highest) seconds.
    timeouts: Mapping[str, tuple[int, int]]
    # The EXTRA_FIELDS this profile sends.
    extra_fields: frozenset[str]

    def record_path(self, call_id: str) -> str:
        return self.record_path_template.format(call_id=quote(call_id, safe=""))


PROFILES: dict[str, ProfileRules] = {
    "beta-record": ProfileRules(
        name="beta-record",
        record_path_template="/app/calls/{call_id}/record",
        prompt_kinds=frozenset(PROMPT_KINDS),
        # Graph's beta documents no number; the emulator allows 20.
        max_prompts=20,
        loop_allowed=True,
        max_loop=100,
        silence_max_ms=300_000,
        # The contract's ranges: wide enough for the original example's 1800 s recording.
        timeouts={
            "initial_silence_timeout": (1, 300),
            "max_silence_timeout": (1, 300),
            "max_record_duration": (1, 1800),
        },
        extra_fields=EXTRA_FIELDS,
    ),
    "v1.0": ProfileRules(
        name="v1.0",
        record_path_template="/communications/calls/{call_id}/recordResponse",
        prompt_kinds=frozenset({"media"}),
        max_prompts=1,
        loop_allowed=False,
        max_loop=1,
        silence_max_ms=300_000,
        timeouts={
            "initial_silence_timeout": (1, 120),
            "max_silence_timeout": (1, 120),
            "max_record_duration": (1, 120),
        },
        extra_fields=frozenset(),
    ),
}


def get_profile(profile: ProfileRules | str) -> ProfileRules:
    if isinstance(profile, ProfileRules):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(
            f"Unknown Graph profile {profile!r}; use one of {', '.join(PROFILES)}."
        ) from None


def validate_record_spec(spec: RecordSpec, profile: ProfileRules | str) -> dict[str, list[str]]:
    """What breaks the profile's limits: RecordSpec field name -> sentences. Empty if valid."""
    rules = get_profile(profile)
    errors: dict[str, list[str]] = {}
    count = prompt_count_problem(len(spec.prompts), rules)
    if count:
        errors["prompts"] = [count]
    for number, prompt in enumerate(spec.prompts, start=1):
        for messages in prompt_spec_problems(prompt, rules).values():
            errors.setdefault("prompts", []).extend(
                f"Prompt {number}: {message}" for message in messages
            )
    for field, messages in settings_problems(spec, rules).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def prompt_count_problem(count: int, profile: ProfileRules | str) -> str | None:
    """Why `count` prompts are too many for the profile, or None."""
    rules = get_profile(profile)
    if rules.max_prompts is None or count <= rules.max_prompts:
        return None
    return (
        f"The {rules.name} profile plays at most {rules.max_prompts} prompt"
        f"{'s' if rules.max_prompts != 1 else ''}; this request has {count}."
    )


def settings_problems(spec: RecordSpec, profile: ProfileRules | str) -> dict[str, list[str]]:
    """What breaks the profile's limits in everything but the prompts: field -> sentences."""
    rules = get_profile(profile)
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, (lowest, highest) in rules.timeouts.items():
        value = getattr(spec, field)
        if value is not None and not (_is_int(value) and lowest <= value <= highest):
            add(
                field,
                f"{TIMEOUT_LABELS[field]} must be a whole number of seconds from {lowest} to "
                f"{highest} on the {rules.name} profile; got {value!r}.",
            )

    for tone in spec.stop_tones:
        if not (isinstance(tone, str) and tone in STOP_TONES):
            add(
                "stop_tones",
                f"Stop tone {tone!r} is not one key: each must be one of 0-9, *, # or A-D.",
            )

    if len(spec.client_context) > CLIENT_CONTEXT_MAX:
        add(
            "client_context",
            f"The client context is {len(spec.client_context)} characters long; Graph accepts "
            f"at most {CLIENT_CONTEXT_MAX}.",
        )

    for field in sorted(EXTRA_FIELDS - rules.extra_fields):
        if not _unset(getattr(spec, field)):
            add(
                field,
                f"The {rules.name} profile does not send {BODY_NAMES[field]}; leave it unset.",
            )
    return errors


def prompt_spec_problems(prompt: PromptSpec, profile: ProfileRules | str) -> dict[str, list[str]]:
    """What breaks the profile's limits in one prompt: PromptSpec field (or "kind") ->
    sentences, so that a form can put each on the field it is about."""
    errors: dict[str, list[str]] = {}
    for field, message in _prompt_problems(prompt, get_profile(profile)):
        errors.setdefault(field, []).append(message)
    return errors


def _prompt_problems(prompt: PromptSpec, rules: ProfileRules) -> Iterator[tuple[str, str]]:
    if prompt.kind not in PROMPT_KINDS:
        yield "kind", f"The kind {prompt.kind!r} is unknown; a prompt is media or silence."
        return
    if prompt.kind not in rules.prompt_kinds:
        kinds = " and ".join(sorted(rules.prompt_kinds))
        yield "kind", f"The {rules.name} profile plays only {kinds} prompts, not {prompt.kind}."
        return
    if prompt.kind == "media":
        if not _is_web_url(prompt.uri):
            yield "uri", "The media URI must be an http or https address with a host."
        if prompt.duration_ms is not None:
            yield (
                "duration_ms",
                "A media prompt has no duration; add a silence prompt for a pause.",
            )
        if prompt.loop is not None:
            if not rules.loop_allowed:
                yield "loop", f"The {rules.name} profile does not loop prompts; leave loop unset."
            elif not (_is_int(prompt.loop) and 1 <= prompt.loop <= rules.max_loop):
                yield (
                    "loop",
                    f"A prompt plays from 1 to {rules.max_loop} times on the {rules.name} "
                    f"profile; got {prompt.loop!r}.",
                )
    else:
        duration, longest = prompt.duration_ms, rules.silence_max_ms
        if duration is None or not (_is_int(duration) and 1 <= duration <= longest):
            yield (
                "duration_ms",
                f"A silence prompt needs a duration from 1 to {longest:,} milliseconds on the "
                f"{rules.name} profile; got {duration!r}.",
            )
        if prompt.uri or prompt.resource_id or prompt.loop is not None:
            yield "kind", "A silence prompt has no URI, resource id or loop; use a media prompt."


def build_record_body(spec: RecordSpec, profile: ProfileRules | str) -> dict[str, Any]:
    """The record action's body: exactly the fields the spec sets, in Graph's names.

    Limits are validate_record_spec's business, not this function's; a field the profile
    does not have at all is refused, since the body would not be of the profile's shape.
    """
    rules = get_profile(profile)
    body: dict[str, Any] = {}
    if spec.prompts:
        body["prompts"] = [prompt_body(prompt) for prompt in spec.prompts]
    for field, name in BODY_NAMES.items():
        value = getattr(spec, field)
        if _unset(value):
            continue
        if field in EXTRA_FIELDS and field not in rules.extra_fields:
            raise ValueError(f"The {rules.name} profile does not send {name}.")
        body[name] = list(value) if isinstance(value, tuple) else value
    return body


def prompt_body(prompt: PromptSpec) -> dict[str, Any]:
    if prompt.kind == "silence":
        return {"@odata.type": SILENCE_PROMPT_TYPE, "duration": prompt.duration_ms}
    if prompt.kind == "media":
        media_info = {"uri": prompt.uri}
        if prompt.resource_id:
            media_info["resourceId"] = prompt.resource_id
        body: dict[str, Any] = {"@odata.type": MEDIA_PROMPT_TYPE, "mediaInfo": media_info}
        if prompt.loop is not None:
            body["loop"] = prompt.loop
        return body
    raise ValueError(f"Unknown prompt kind {prompt.kind!r}.")


def _unset(value: Any) -> bool:
    # False and 0 are choices; None, "" and () are not.
    return value is None or value == "" or value == ()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False
