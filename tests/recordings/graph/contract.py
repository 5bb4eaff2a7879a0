"""The Graph fixtures (tests/fixtures/graph) as the client's tests use them, and the
RecordSpecs the two request samples stand for.
"""

from recordings.graph import PromptSpec, RecordSpec
from tests.conftest import CONTRACT as CONTRACT_DIR
from tests.conftest import REPO as REPO_ROOT
from tests.conftest import contract_sample as load

__all__ = [
    "BEEP",
    "BETA_EXAMPLE",
    "CONTRACT_DIR",
    "REPO_ROOT",
    "V1_EXAMPLE",
    "load",
    "notification_samples",
]

if not CONTRACT_DIR.is_dir():
    raise FileNotFoundError(f"The Graph fixtures are missing: expected them in {CONTRACT_DIR}.")


def notification_samples() -> list[str]:
    names = sorted(
        str(path.relative_to(CONTRACT_DIR)) for path in CONTRACT_DIR.glob("*/notification-*.json")
    )
    if not names:
        raise FileNotFoundError(f"No notification samples under {CONTRACT_DIR}.")
    return names


# The RecordSpecs the two request samples stand for.
CONTEXT = "d45324c1-fcb5-430a-902c-f20af696537c"
BEEP = "https://cdn.contoso.com/beep.wav"
RESOURCE_ID = "1D6DE2D4-CD51-4309-8DAA-70768651088E"

BETA_EXAMPLE = RecordSpec(
    prompts=(
        PromptSpec(kind="silence", duration_ms=5000),
        PromptSpec(kind="media", uri=BEEP, resource_id=RESOURCE_ID, loop=5),
    ),
    barge_in_allowed=True,
    play_beep=True,
    initial_silence_timeout=10,
    max_silence_timeout=2,
    max_record_duration=1800,
    # "11" is the old beta example's, refused by validation but buildable on purpose.
    stop_tones=("#", "11", "*"),
    client_context=CONTEXT,
    stream_while_recording=True,
    recording_format="wav",
)

V1_EXAMPLE = RecordSpec(
    prompts=(PromptSpec(kind="media", uri=BEEP, resource_id=RESOURCE_ID),),
    barge_in_allowed=True,
    play_beep=True,
    initial_silence_timeout=5,
    max_silence_timeout=2,
    max_record_duration=10,
    stop_tones=("#", "1", "*"),
    client_context=CONTEXT,
)
