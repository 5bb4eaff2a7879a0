"""Graph as the tests see it: its fixtures (tests/fixtures/graph), the RecordSpecs the request
samples stand for, fixed addresses of a test app registration, Graph's URLs and answers, and
fakes at the HTTP seam (a clock, recording exchange logs, network failures)."""

import json

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from recordings.graph import PromptSpec, RecordSpec
from tests.support.paths import GRAPH_FIXTURES

if not GRAPH_FIXTURES.is_dir():
    raise FileNotFoundError(f"The Graph fixtures are missing: expected them in {GRAPH_FIXTURES}.")


def graph_fixture(name: str) -> dict:
    """A Graph sample, e.g. graph_fixture("v1.0/notification-completed").

    They live in tests/fixtures/graph.

    The suite needs them: a missing sample is an error, never a skipped test.
    """
    path = GRAPH_FIXTURES / (name if name.endswith(".json") else f"{name}.json")
    if not path.exists():
        raise FileNotFoundError(f"Graph fixture {path} is missing from tests/fixtures/graph.")
    return json.loads(path.read_text())


def notification_samples() -> list[str]:
    names = sorted(
        str(path.relative_to(GRAPH_FIXTURES))
        for path in GRAPH_FIXTURES.glob("*/notification-*.json")
    )
    if not names:
        raise FileNotFoundError(f"No notification samples under {GRAPH_FIXTURES}.")
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

# A short spec for the services to send.
SPEC = RecordSpec(
    prompts=(
        PromptSpec(kind="silence", duration_ms=500),
        PromptSpec(kind="media", uri="https://cdn.contoso.com/beep.wav", loop=2),
    ),
    stop_tones=("#",),
    max_record_duration=30,
    client_context="ctx",
)

# The test app registration and where it gets its tokens.
GRAPH = "https://graph.test/v1.0"
AUTHORITY = "http://login.test"
# An https authority: Azure AD's kind, which MSAL serves.
AAD = "https://login.example.test"
TENANT = "tenant-1"
TOKEN_URL = f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token"
CLIENT_ID = "client-1"
CLIENT_SECRET = "secret-1"
SCOPE = "https://graph.microsoft.com/.default"
# The key id of the suite's notification signing key (the `signing_key` fixture).
TEST_KID = "recorder-test-key"

# The operation id of Graph's samples, and of the rows made after them.
OP_ID = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"


def record_url(settings, call, profile):
    if profile == "beta-record":
        return f"{settings.GRAPH_API_BASE_URL}/app/calls/{call.graph_id}/record"
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/recordResponse"


def operation_url(settings, call, op_id=OP_ID):
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/operations/{op_id}"


def running(op_id=OP_ID, context="ctx"):
    """Graph's answer to a record action it has taken on."""
    return {"id": op_id, "status": "running", "clientContext": context}


class Clock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingLog:
    """An ExchangeLog that keeps what it is told."""

    def __init__(self):
        self.events = []

    def started(self, action, method, url, body, client_request_id):
        self.events.append(("started", action, method, url, body, client_request_id))

    def finished(self, status, body_text, request_id, attempts, error):
        self.events.append(("finished", status, body_text, request_id, attempts, error))


class RecordingLogs:
    """An ExchangeLogFactory: a fresh RecordingLog for each request, all of them kept."""

    def __init__(self):
        self.made = []

    def __call__(self):
        self.made.append(RecordingLog())
        return self.made[-1]

    def actions(self):
        """The action of each request logged, in order, once it has finished."""
        return [log.events[0][1] for log in self.made if log.events[-1][0] == "finished"]


# Network failures as the transport raises them, for `responses` to raise in a test's place.
# The one place the tests name `requests`: faking the seam needs its exception types.


def connection_reset() -> requests.ConnectionError:
    return requests.ConnectionError("Connection aborted: connection reset by peer")


def connection_refused(url: str) -> requests.ConnectionError:
    # requests wraps urllib3's MaxRetryError, whose reason tells that nothing was sent.
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.ConnectionError(MaxRetryError(None, url, reason=reason))


def connect_timeout() -> requests.ConnectTimeout:
    return requests.ConnectTimeout("connect timed out")


def read_timeout() -> requests.ReadTimeout:
    return requests.ReadTimeout("read timed out")
