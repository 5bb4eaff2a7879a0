"""scripts/run, which `make run` calls: it serves where PORT says, and every URL follows."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

RUN = REPO / "scripts" / "run"
VENV = Path(sys.prefix)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    # Only what a user's shell would have: no settings of the suite's own leak in.
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {**{k: v for k, v in os.environ.items() if k in keep}, **extra}


def test_the_settings_derive_every_url_from_port():
    code = (
        "import json; from recorder_site import settings as s; print(json.dumps({n: str(getattr"
        "(s, n)) for n in ('RECORDER_BASE_URL', 'EMULATOR_URL', 'GRAPH_API_BASE_URL', "
        "'GRAPH_AUTHORITY_URL', 'NOTIFICATION_URL', 'NOTIFICATION_OPENID_CONFIG_URL', "
        "'GRAPH_EMULATOR_CALLBACK_URL', 'PROMPT_BASE_URL', 'RECORDING_DOWNLOAD_HOSTS')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=clean_env(PORT="8001"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    urls = json.loads(out)

    hosts = urls.pop("RECORDING_DOWNLOAD_HOSTS")
    assert hosts == "['127.0.0.1']"
    assert all(
        value.startswith("http://127.0.0.1:8001/") or value == "http://127.0.0.1:8001"
        for value in urls.values()
    ), urls


def test_a_taken_port_is_refused_with_the_variable_to_set():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        result = subprocess.run(
            [str(RUN)],
            env=clean_env(PORT=str(port), VENV=str(VENV)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is taken" in result.stderr
    assert f"make run PORT={port + 1}" in result.stderr


@pytest.mark.e2e
def test_it_serves_on_the_port_given_and_the_demo_call_is_answered_there(tmp_path):
    port = free_port()
    database = tmp_path / "db.sqlite3"
    env = clean_env(
        PORT=str(port),
        VENV=str(VENV),
        DATABASE_URL=f"sqlite:///{database}",
        MEDIA_ROOT=str(tmp_path / "media"),
        GRAPH_EMULATOR_DATA_DIR=str(tmp_path / "emulator"),
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    log = (tmp_path / "run.log").open("w+")
    run = subprocess.Popen(
        [str(RUN)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        answered = []
        while time.monotonic() < deadline and run.poll() is None:
            with sqlite3.connect(database) as db:
                answered = db.execute(
                    "SELECT graph_id FROM recordings_call WHERE state = 'established'"
                ).fetchall()
            if answered:
                break
            time.sleep(0.5)
        log.seek(0)
        output = log.read()
        assert run.poll() is None, output
        # The emulator rang the bot at NOTIFICATION_URL on this port, the worker answered
        # through GRAPH_API_BASE_URL on this port, and Graph's word came back to the webhook.
        assert answered, output
        assert f"Recorder is running at http://127.0.0.1:{port}/admin/" in output
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5) as r:
            assert r.status == 200
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=30)
        log.close()
