"""The simulated caller's script.

Words separated by `;` (case does not matter, blank words are skipped):

    interrupt S   only first: start the script S seconds into the prompts, not after the beep
    silence S     say nothing for S seconds (decimals allowed)
    speak S       talk for S seconds
    press KEYS    press DTMF keys, one per character (0-9 * # A-D), 0.2 s each
    stall         the caller's media stops (nothing may follow)
    hangup        the caller hangs up (nothing may follow)

Example: `silence 1; speak 2.5; press #; hangup`.
"""

import math
from dataclasses import dataclass

KEY_SECONDS = 0.2
DTMF_KEYS = "0123456789*#ABCD"
MAX_STEP_SECONDS = 3600.0
MAX_STEPS = 200


class ScriptError(ValueError):
    pass


@dataclass(frozen=True)
class Step:
    kind: str  # silence | speak | press | stall | hangup
    seconds: float = 0.0
    keys: str = ""


@dataclass(frozen=True)
class Script:
    steps: tuple[Step, ...] = ()
    interrupt_at: float | None = None

    @property
    def ends_call(self) -> bool:
        return any(step.kind == "hangup" for step in self.steps)


def _seconds(word: str, arg: str, *, allow_zero: bool) -> float:
    try:
        value = float(arg)
    except ValueError:
        raise ScriptError(f"'{word}' needs a number of seconds, not {arg!r}.") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ScriptError(f"'{word} {arg}': seconds must be a positive number.")
    if value > MAX_STEP_SECONDS:
        raise ScriptError(f"'{word} {arg}': at most {MAX_STEP_SECONDS:g} seconds a step.")
    return value


def parse_script(text: str) -> Script:
    """Parse a caller script, or raise ScriptError with a sentence saying what to fix."""
    steps: list[Step] = []
    interrupt_at = None
    words = [w.strip() for w in (text or "").split(";")]
    words = [w for w in words if w]
    if len(words) > MAX_STEPS:
        raise ScriptError(f"A script has at most {MAX_STEPS} steps.")
    for index, word in enumerate(words):
        head, _, arg = word.partition(" ")
        head, arg = head.lower(), arg.strip()
        if steps and steps[-1].kind in ("hangup", "stall"):
            raise ScriptError(f"Nothing may follow '{steps[-1].kind}' (found '{word}').")
        if head == "interrupt":
            if index != 0:
                raise ScriptError("'interrupt S' may only be the first step.")
            interrupt_at = _seconds(head, arg, allow_zero=True)
        elif head in ("silence", "speak"):
            steps.append(Step(head, seconds=_seconds(head, arg, allow_zero=head == "silence")))
        elif head == "press":
            keys = arg.replace(" ", "").upper()
            if not keys:
                raise ScriptError("'press' needs the keys to press, for example 'press 12#'.")
            bad = sorted({k for k in keys if k not in DTMF_KEYS})
            if bad:
                raise ScriptError(
                    f"'press {arg}': {''.join(bad)!r} are not DTMF keys (use 0-9 * # A-D)."
                )
            steps.append(Step("press", seconds=KEY_SECONDS * len(keys), keys=keys))
        elif head in ("hangup", "stall"):
            if arg:
                raise ScriptError(f"'{head}' takes no argument.")
            steps.append(Step(head))
        else:
            raise ScriptError(
                f"Unknown step {word!r}: use silence S, speak S, press KEYS, stall, hangup "
                "(and optionally a leading interrupt S)."
            )
    return Script(steps=tuple(steps), interrupt_at=interrupt_at)
