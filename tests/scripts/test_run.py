"""scripts/run, which `make run` calls: it serves where PORT says, and every URL follows."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.paths import REPO

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


class Served:
    """scripts/run on a free port, with a SQLite database and media of its own."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.database = tmp_path / "db.sqlite3"
        self.env = clean_env(
            PORT=str(self.port),
            VENV=str(VENV),
            DATABASE_URL=f"sqlite:///{self.database}",
            MEDIA_ROOT=str(tmp_path / "media"),
            GRAPH_EMULATOR_DATA_DIR=str(tmp_path / "emulator"),
        )
        self.manage("migrate", "--noinput")
        self.log = tmp_path / "run.log"
        # Appending: the test reads the file while scripts/run writes to it.
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(RUN)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def output(self) -> str:
        return self.log.read_text()

    def established_calls(self) -> list[str]:
        with sqlite3.connect(self.database) as db:
            rows = db.execute(
                "SELECT graph_id FROM recordings_call WHERE state = 'established'"
            ).fetchall()
        return [graph_id.lower() for (graph_id,) in rows]

    def wait_for(self, predicate, *, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"No {what} within {timeout:.0f} s. Output:\n{self.output()}")

    def children(self) -> dict[int, str]:
        """scripts/run's child processes now: pid -> command line."""
        return {
            pid: command
            for pid, (parent, _, command) in processes().items()
            if parent == self.process.pid
        }

    def child(self, *words: str) -> int | None:
        found = [
            pid for pid, command in self.children().items() if all(w in command for w in words)
        ]
        assert len(found) <= 1, self.children()
        return found[0] if found else None

    def groups(self) -> set[int]:
        """The process groups of its children now: each leads one of its own."""
        return {group for pid, (_, group, _) in processes().items() if pid in self.children()}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def processes() -> dict[int, tuple[int, int, str]]:
    """Every live process: pid -> (parent pid, process group, command line), from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue  # it ended meanwhile
        # After the command name in parentheses (which may hold anything): state, ppid, pgrp.
        state, parent, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if state != "Z":
            found[int(entry.name)] = (int(parent), int(group), command)
    return found


@pytest.fixture
def served(tmp_path):
    served = Served(tmp_path)
    yield served
    served.stop()


@pytest.mark.e2e
def test_it_serves_on_the_port_given_and_the_demo_call_is_answered_there(served):
    port = served.port
    running = f"Recorder is running at http://127.0.0.1:{port}/admin/"
    deadline = time.monotonic() + 90
    answered = []
    # The first call may be answered before the demo set-up has rung the second and said
    # so: wait for both.
    while time.monotonic() < deadline and served.process.poll() is None:
        answered = served.established_calls()
        if answered and running in served.output():
            break
        time.sleep(0.5)
    output = served.output()
    assert served.process.poll() is None, output
    # The emulator rang the bot at NOTIFICATION_URL on this port, the worker answered
    # through GRAPH_API_BASE_URL on this port, and Graph's word came back to the webhook.
    assert answered, output
    assert running in output
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5) as r:
        assert r.status == 200


class Watcher:
    """Asks the web server for its login page every 0.1 s, in a thread, and keeps what went
    wrong."""

    def __init__(self, port: int):
        self.port = port
        self.asked = 0
        self.failures: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        while not self.done.wait(0.1):
            self.asked += 1
            try:
                url = f"http://127.0.0.1:{self.port}/admin/login/"
                with urllib.request.urlopen(url, timeout=5) as answer:
                    if answer.status != 200:
                        self.failures.append(f"HTTP {answer.status}")
            except OSError as err:
                self.failures.append(str(err))

    def stop(self):
        self.done.set()
        self.thread.join()


@pytest.mark.e2e
def test_a_killed_worker_and_scheduler_are_started_again_while_the_web_server_answers(served):
    calls_worker = ("db_worker", "--queue-name calls")
    served.wait_for(
        lambda: "Recorder is running at" in served.output(), timeout=90, what="start-up"
    )
    worker, scheduler = served.child(*calls_worker), served.child("crontask")
    assert worker and scheduler, served.children()
    groups = served.groups()

    def started_again(words: tuple[str, ...], old: int) -> int | None:
        pid = served.child(*words)
        return pid if pid not in (None, old) else None

    watcher = Watcher(served.port)
    try:
        os.kill(worker, signal.SIGKILL)
        os.kill(scheduler, signal.SIGKILL)
        new_worker = served.wait_for(
            lambda: started_again(calls_worker, worker), timeout=15, what="new calls worker"
        )
        served.wait_for(
            lambda: started_again(("crontask",), scheduler), timeout=15, what="new scheduler"
        )
        groups |= served.groups()
        # The new worker answers a call that rings now.
        call_id = served.manage("emulator_call", "--script", "speak 30").splitlines()[-1]
        served.wait_for(
            lambda: call_id.lower() in served.established_calls(),
            timeout=30,
            what=f"answer to call {call_id}",
        )
    finally:
        watcher.stop()

    assert watcher.failures == [], watcher.failures
    assert watcher.asked > 10
    assert served.child(*calls_worker) == new_worker
    output = served.output()
    assert (
        "The worker on the calls queue stopped (exit status 137); starting it again in 1 s."
        in output
    )
    assert "The scheduler stopped (exit status 137); starting it again in 1 s." in output

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=30) == 143
    left = {pid: command for pid, (_, group, command) in processes().items() if group in groups}
    assert left == {}, left
