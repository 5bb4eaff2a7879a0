"""Fixtures for the emulator's tests.

The emulator does its timed work on background threads that use their own database
connections, so tests that drive it use `transactional_db` (the threads must see committed
rows) and wait for the threads to finish before the database is flushed. The bot's callback is
a small `http.server` thread that records what it receives and serves prompt files.
"""

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from graph_emulator import background, faults, services, signing
from graph_emulator.models import SigningKey

TIME_SCALE = 0.02  # one emulated second lasts 20 ms


class Receiver:
    """A stand-in bot: records every POST, answers with queued statuses (202 by default)."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.statuses: list[int] = []
        self.files: dict[str, bytes] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 202
                    receiver.posts.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "json": json.loads(body),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                data = receiver.files.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base}/api/calls"

    def notifications(self, *, accepted_only: bool = False) -> list[dict]:
        with self.lock:
            posts = list(self.posts)
        return [
            item
            for post in posts
            if not accepted_only or post["status"] < 300
            for item in post["json"]["value"]
        ]

    def wait_for(self, predicate: Callable[[list[dict]], object], timeout: float = 5.0) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate(self.notifications())
            if found:
                return found
            time.sleep(0.01)
        raise AssertionError(f"Not received in {timeout}s; got {self.notifications()}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def states(notifications: list[dict]) -> list[str]:
    return [
        n["resourceData"]["state"]
        for n in notifications
        if n["resourceData"]["@odata.type"] == "#microsoft.graph.call"
    ]


def completions(notifications: list[dict]) -> list[dict]:
    return [
        n["resourceData"]
        for n in notifications
        if n["resourceData"]["@odata.type"] == "#microsoft.graph.recordOperation"
    ]


# How each ending shows in resultInfo (graph_emulator/README.md). A v1.0 completion says how
# it ended there only: like Graph's documented recordOperation, it has no completionReason
# (but for a cancel).
ENDINGS = {
    8511: "stopToneDetected",
    8515: "maxRecordDurationReached",
    8516: "initialSilenceTimeout",
    8517: "maxSilenceTimeout",
    8518: "none",
    8508: "operationCanceled",
    8531: "playPromptFailed",
    8532: "playBeepFailed",
    8533: "mediaReceiveTimeout",
    8534: "unspecifiedError",
}


def ending(data: dict) -> str:
    """How a finished v1.0 operation ended, read from its resultInfo subcode."""
    return ENDINGS[data["resultInfo"]["subcode"]]


@pytest.fixture(scope="session")
def _one_rsa_key() -> SigningKey:
    return signing._new_key()


@pytest.fixture(autouse=True)
def _reuse_rsa_key(monkeypatch, _one_rsa_key) -> None:
    # Every test starts with an empty database, so the emulator would make a 2048-bit key in
    # each one; one per session keeps the suite fast and changes nothing else.
    monkeypatch.setattr(
        signing,
        "_new_key",
        lambda: SigningKey(kid=_one_rsa_key.kid, private_pem=_one_rsa_key.private_pem),
    )


@pytest.fixture
def emulator(settings, tmp_path, transactional_db) -> Iterator[None]:
    settings.GRAPH_EMULATOR_TIME_SCALE = TIME_SCALE
    settings.GRAPH_EMULATOR_DATA_DIR = tmp_path / "emulator"
    settings.GRAPH_EMULATOR_RECORDING_LIFETIME = 600.0
    background.resume_watchers()
    yield
    faults.clear_faults()
    background.stop_watchers()
    assert background.wait_idle(10, watchers=True), "the emulator's threads did not finish"


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    bot = Receiver()
    settings.GRAPH_EMULATOR_CALLBACK_URL = bot.url
    yield bot
    # Let the emulator finish talking to the bot before the bot goes away.
    background.wait_idle(10)
    bot.close()


class Graph:
    """The Django test client with an app token, speaking JSON."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.token = token

    def _headers(self, token: str | None) -> dict:
        token = self.token if token is None else token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, *, token: str | None = None, **headers: str):
        return self.client.get(path, headers={**self._headers(token), **headers})

    def delete(self, path: str, *, token: str | None = None, **headers: str):
        return self.client.delete(path, headers={**self._headers(token), **headers})

    def post(self, path: str, body: object = None, *, token: str | None = None, **headers: str):
        data = b"" if body is None else json.dumps(body)
        return self.client.post(
            path,
            data=data,
            content_type="application/json",
            headers={**self._headers(token), **headers},
        )


def fetch_token(client) -> str:
    response = client.post(
        f"/emulator/{settings.EMULATOR_TENANT_ID}/oauth2/v2.0/token",
        {
            "grant_type": "client_credentials",
            "client_id": settings.EMULATOR_CLIENT_ID,
            "client_secret": settings.EMULATOR_CLIENT_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.fixture
def graph(client, emulator) -> Graph:
    return Graph(client, fetch_token(client))


def answer_body(receiver: Receiver) -> dict:
    return {
        "callbackUri": receiver.url,
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "acceptedModalities": ["audio"],
    }


@pytest.fixture
def established(graph: Graph, receiver: Receiver) -> Callable[..., str]:
    """Place a call with a caller script, answer it, wait for `established`: its id."""

    def make(script: str = "speak 1") -> str:
        call = services.place_call(script=script, callback_url=receiver.url)
        services.announce_call(call, wait=True)
        path = f"/emulator/v1.0/communications/calls/{call.id}/answer"
        response = graph.post(path, answer_body(receiver))
        assert response.status_code == 202, response.content
        receiver.wait_for(
            lambda ns: "established" in states([n for n in ns if call.id in n["resourceUrl"]])
        )
        return call.id

    return make


def recording_path(location: str) -> str:
    return urlsplit(location).path
