"""The webhook as production serves it, behind gunicorn: a notification sent chunked (no
Content-Length) is read whole and applied, under the same size cap as any other."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from recordings.models import Call, Notification, OperationStatus
from tests.support.db import database_url
from tests.support.factories import create_operation
from tests.support.graph import graph_fixture
from tests.support.hosts import Host
from tests.support.paths import REPO

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def key_host(jwks):
    """The OpenID configuration and keys that sign the test's tokens."""
    documents = {}

    def answer(handler, host):
        body = json.dumps(documents[handler.path]).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with Host(answer) as host:
        documents["/openid"] = {
            "issuer": "https://api.botframework.com",
            "jwks_uri": f"{host.base_url}/jwks",
        }
        documents["/jwks"] = jwks
        yield f"{host.base_url}/openid"


@pytest.fixture
def served(transactional_db, key_host, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "NOTIFICATION_OPENID_CONFIG_URL": key_host,
        "NOTIFICATION_MAX_BYTES": "65536",
        "TASKS_BACKEND": "dummy",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "recorder_site.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--worker-class", "gthread", "--threads", "2"),
        ],
        cwd=REPO,
        env=env,
        stdout=(tmp_path / "gunicorn.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise AssertionError("gunicorn did not start") from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/api/calls"
    server.terminate()
    server.wait(timeout=15)


def chunks(body: bytes, size: int = 100):
    # A generator body makes requests send it chunked, with no Content-Length.
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_notification_is_read_whole_and_applied(served, make_token):
    call = Call.objects.create(graph_id="421f1100-f4ff-4d0b-a10e-a4d5b1d2be55", state="established")
    operation = create_operation(call=call)
    body = json.dumps(graph_fixture("v1.0/notification-completed")).encode()

    answer = requests.post(
        served,
        data=chunks(body),
        headers={"Authorization": f"Bearer {make_token()}", "Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.status_code == 202, answer.text
    assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in answer.request.headers
    stored = Notification.objects.get()
    assert bytes(stored.body) == body
    operation.refresh_from_db()
    assert operation.status == OperationStatus.COMPLETED


def test_a_chunked_body_over_the_cap_is_refused_and_not_stored(served, make_token):
    body = json.dumps({"value": [], "padding": "x" * 70_000}).encode()

    answer = requests.post(
        served,
        data=chunks(body, 8192),
        headers={"Authorization": f"Bearer {make_token()}", "Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.status_code == 413
    assert not Notification.objects.exists()
