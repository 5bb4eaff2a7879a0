"""What the Graph tests share besides fixtures: fixed addresses, a clock, recording logs,
network failures."""

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

GRAPH = "https://graph.test/v1.0"
AUTHORITY = "http://login.test"
# An https authority: Azure AD's kind, which MSAL serves.
AAD = "https://login.example.test"
TENANT = "tenant-1"
TOKEN_URL = f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token"
CLIENT_ID = "client-1"
CLIENT_SECRET = "secret-1"
SCOPE = "https://graph.microsoft.com/.default"


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
