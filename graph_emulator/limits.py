"""The emulator's limits on a record request, one table per profile (README.md lists them).

Recorder keeps the same numbers in its own module (the two apps never import each other); a
test on each side pins them.
"""

from dataclasses import dataclass

from graph_emulator.models import Operation

MEDIA_PROMPT = "#microsoft.graph.mediaPrompt"
SILENCE_PROMPT = "#microsoft.graph.silencePrompt"


@dataclass(frozen=True)
class Limits:
    prompt_types: tuple[str, ...]
    # Graph documents no number for beta; v1.0's recordResponse takes one prompt.
    max_prompts: int
    # A media prompt's `loop` (0 and 1 both mean once), None where the profile has no loop.
    max_loop: int | None
    # A silence prompt's `duration` in ms, None where the profile has no silence prompt.
    max_silence_prompt_ms: int | None
    max_record_duration_seconds: int
    # Both silence timeouts: initialSilenceTimeoutInSeconds, maxSilenceTimeoutInSeconds.
    max_silence_timeout_seconds: int
    default_timeout_seconds: int = 5
    # One of each key at most; each stop tone is one key (README.md, "Stop tones").
    max_stop_tones: int = 16
    max_stop_tone_keys: int = 1
    max_client_context: int = 256


LIMITS: dict[str, Limits] = {
    Operation.Profile.BETA_RECORD: Limits(
        prompt_types=(MEDIA_PROMPT, SILENCE_PROMPT),
        max_prompts=20,
        max_loop=100,
        max_silence_prompt_ms=300_000,
        max_record_duration_seconds=1800,
        max_silence_timeout_seconds=300,
    ),
    Operation.Profile.V1: Limits(
        prompt_types=(MEDIA_PROMPT,),
        max_prompts=1,
        max_loop=None,
        max_silence_prompt_ms=None,
        max_record_duration_seconds=120,
        max_silence_timeout_seconds=120,
    ),
}

# playPrompt takes as many prompts as beta's record, with the prompt rules of the profile.
PLAY_PROMPT_MAX_PROMPTS = 20
