"""The emulator as its tests drive it: a stand-in bot on loopback, the Django test client
speaking Graph's JSON with an app token, and readers of what the bot was sent."""

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from django.conf import settings

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


def answer_body(receiver: Receiver) -> dict:
    return {
        "callbackUri": receiver.url,
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "acceptedModalities": ["audio"],
    }


def recording_path(location: str) -> str:
    return urlsplit(location).path


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
