"""Graph-like validation of a record request, per profile (see graph-contract.md).

`validate_record_body()` answers the normalised parameters the runner works from, or raises
GraphProblem 400 naming every problem it found, in sentences.
"""

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from graph_emulator.errors import GraphProblem, bad_request
from graph_emulator.limits import LIMITS, PLAY_PROMPT_MAX_PROMPTS, SILENCE_PROMPT, Limits
from graph_emulator.models import Operation
from graph_emulator.script import DTMF_KEYS

COMMON_FIELDS = frozenset(
    {
        "prompts",
        "bargeInAllowed",
        "initialSilenceTimeoutInSeconds",
        "maxSilenceTimeoutInSeconds",
        "maxRecordDurationInSeconds",
        "playBeep",
        "stopTones",
        "clientContext",
    }
)


@dataclass(frozen=True)
class Shape:
    """What a request body may hold: its type's name, its properties, and the limits."""

    type_name: str
    fields: frozenset[str]
    limits: Limits


SHAPES = {
    Operation.Profile.BETA_RECORD: Shape(
        "microsoft.graph.record",
        COMMON_FIELDS | {"streamWhileRecording", "recordingFormat"},
        LIMITS[Operation.Profile.BETA_RECORD],
    ),
    Operation.Profile.V1: Shape(
        "microsoft.graph.recordResponse", COMMON_FIELDS, LIMITS[Operation.Profile.V1]
    ),
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(problems: list[str], name: str, value: Any, low: int, high: int) -> int | None:
    if not _is_int(value) or not low <= value <= high:
        problems.append(f"{name} must be a whole number from {low} to {high} (got {value!r}).")
        return None
    return value


def _check_bool(problems: list[str], name: str, value: Any) -> bool | None:
    if not isinstance(value, bool):
        problems.append(f"{name} must be true or false (got {value!r}).")
        return None
    return value


def _prompt(problems: list[str], index: int, prompt: Any, limits: Limits) -> dict | None:
    """One prompt, numbered from 0 like Graph's errors (`prompts[0]`)."""
    where = f"prompts[{index}]"
    if not isinstance(prompt, dict):
        problems.append(f"{where} must be an object.")
        return None
    kind = prompt.get("@odata.type")
    if kind not in limits.prompt_types:
        allowed = " or ".join(f"'{t}'" for t in limits.prompt_types)
        problems.append(f"{where} has @odata.type {kind!r}; this version accepts {allowed}.")
        return None
    if kind == SILENCE_PROMPT:
        allowed_keys = {"@odata.type", "duration"}
    else:
        allowed_keys = {"@odata.type", "mediaInfo"} | ({"loop"} if limits.max_loop else set())
    for key in sorted(set(prompt) - allowed_keys):
        problems.append(f"The property '{key}' does not exist on type '{kind.lstrip('#')}'.")
    if kind == SILENCE_PROMPT:
        ms = _check_int(
            problems, f"{where}.duration", prompt.get("duration"), 1, limits.max_silence_prompt_ms
        )
        return {"kind": "silence", "ms": ms} if ms is not None else None
    info = prompt.get("mediaInfo")
    if not isinstance(info, dict):
        problems.append(f"{where}.mediaInfo must be an object with a uri.")
        return None
    uri = info.get("uri")
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"{where}.mediaInfo.uri must be an absolute http(s) URL (got {uri!r}).")
        return None
    resource_id = info.get("resourceId", "")
    if resource_id is not None and not isinstance(resource_id, str):
        problems.append(f"{where}.mediaInfo.resourceId must be a string.")
    loop = 1
    if "loop" in prompt and limits.max_loop:
        # 0 and 1 both play the prompt once.
        value = _check_int(problems, f"{where}.loop", prompt["loop"], 0, limits.max_loop)
        loop = max(1, value or 1)
    return {"kind": "media", "uri": uri, "resourceId": resource_id or "", "loop": loop}


def validate_record_body(body: Any, profile: str) -> dict:
    shape = SHAPES[profile]
    limits = shape.limits
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    problems: list[str] = []
    for key in sorted(body):
        if not key.startswith("@") and key not in shape.fields:
            problems.append(f"The property '{key}' does not exist on type '{shape.type_name}'.")

    prompts = body.get("prompts")
    clean_prompts: list[dict] = []
    if prompts is not None:
        if not isinstance(prompts, list):
            problems.append("prompts must be a list.")
        elif len(prompts) > limits.max_prompts:
            problems.append(
                f"This version accepts at most {limits.max_prompts} prompt(s); got {len(prompts)}."
            )
        else:
            for index, prompt in enumerate(prompts):
                clean = _prompt(problems, index, prompt, limits)
                if clean:
                    clean_prompts.append(clean)

    params: dict[str, Any] = {"prompts": clean_prompts}
    for name, default in (("bargeInAllowed", False), ("playBeep", True)):
        value = body.get(name)
        params[name] = default if value is None else _check_bool(problems, name, value)
    for name, high in (
        ("initialSilenceTimeoutInSeconds", limits.max_silence_timeout_seconds),
        ("maxSilenceTimeoutInSeconds", limits.max_silence_timeout_seconds),
        ("maxRecordDurationInSeconds", limits.max_record_duration_seconds),
    ):
        value = body.get(name)
        default = limits.default_timeout_seconds
        params[name] = default if value is None else _check_int(problems, name, value, 1, high)

    tones = body.get("stopTones")
    params["stopTones"] = []
    if tones is not None:
        if not isinstance(tones, list) or len(tones) > limits.max_stop_tones:
            problems.append(f"stopTones must be a list of at most {limits.max_stop_tones} strings.")
        else:
            for tone in tones:
                ok = isinstance(tone, str) and 1 <= len(tone) <= limits.max_stop_tone_keys
                if not ok or any(key not in DTMF_KEYS for key in tone.upper()):
                    problems.append(
                        f"stopTones: {tone!r} is not a tone; a stop tone is one DTMF key of "
                        "0-9 * # A-D (a sequence such as '11' is not a tone)."
                    )
                else:
                    params["stopTones"].append(tone.upper())

    try:
        params["clientContext"] = validate_client_context(body, profile)
    except GraphProblem as problem:
        problems.append(problem.message)
        params["clientContext"] = ""

    if "streamWhileRecording" in shape.fields:
        value = body.get("streamWhileRecording")
        params["streamWhileRecording"] = (
            False if value is None else _check_bool(problems, "streamWhileRecording", value)
        )
        fmt = body.get("recordingFormat")
        if fmt is not None and (not isinstance(fmt, str) or fmt.lower() != "wav"):
            problems.append(f"recordingFormat must be 'wav' (got {fmt!r}).")
        params["recordingFormat"] = "wav"

    if problems:
        raise bad_request(" ".join(problems))
    return params


def validate_client_context(body: dict, profile: str = Operation.Profile.V1) -> str:
    most = LIMITS[profile].max_client_context
    context = body.get("clientContext")
    if context is None:
        return ""
    if not isinstance(context, str) or len(context) > most:
        raise bad_request(f"clientContext must be a string of at most {most} characters.")
    return context


PLAY_PROMPT_FIELDS = frozenset({"prompts", "clientContext"})


def validate_play_prompt_body(body: Any, profile: str) -> dict:
    """`{prompts: [mediaPrompt, ...], clientContext}`: the prompts in the record action's
    rules for the profile (v1.0: media prompts without loop; beta: also silence, and loop)."""
    limits = replace(LIMITS[profile], max_prompts=PLAY_PROMPT_MAX_PROMPTS)
    shape = Shape("microsoft.graph.playPrompt", PLAY_PROMPT_FIELDS, limits)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    problems = [
        f"The property '{key}' does not exist on type '{shape.type_name}'."
        for key in sorted(body)
        if not key.startswith("@") and key not in shape.fields
    ]
    prompts = body.get("prompts")
    clean: list[dict] = []
    if not isinstance(prompts, list) or not prompts:
        problems.append("prompts must be a list of at least one prompt.")
    elif len(prompts) > limits.max_prompts:
        problems.append(f"playPrompt accepts at most {limits.max_prompts} prompts.")
    else:
        for index, prompt in enumerate(prompts):
            item = _prompt(problems, index, prompt, limits)
            if item:
                clean.append(item)
    context = ""
    try:
        context = validate_client_context(body, profile)
    except GraphProblem as problem:
        problems.append(problem.message)
    if problems:
        raise bad_request(" ".join(problems))
    return {"prompts": clean, "clientContext": context}
