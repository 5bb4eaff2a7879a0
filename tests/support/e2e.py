"""The running system as an end-to-end test drives it: Recorder and the emulator on a live
server, a task worker in its own process on the same database, and the steps most tests
take (faults set, a call answered, a spec that stops on a tone)."""

import io
import os
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import requests
from django.core.management import call_command

from recordings import graph_setup, webhook
from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import NotificationKeys, PromptSpec, RecordSpec
from recordings.models import Call, GraphExchange, RecordOperation
from tests.support.db import database_url
from tests.support.emulator import TIME_SCALE
from tests.support.paths import REPO
from tests.support.tasks import use_task_backend


class Recorder:
    """The running system as a test sees it: settings, a worker, and ways to wait on it."""

    def __init__(self, live_server, settings, monkeypatch, media_root=None):
        self.url = live_server.url
        self.settings = settings
        self.monkeypatch = monkeypatch
        self.worker: subprocess.Popen | None = None
        # Every worker started, in order; `worker` is the first (most tests start one).
        self.workers: list[subprocess.Popen] = []
        self.worker_log = REPO / "var" / "e2e-worker.log"
        # Recordings the workers fetch land here, never in the project's media/.
        self.media_root = media_root or REPO / "var" / "e2e-media"
        # Their downloads under way, beside it.
        self.fetch_dir = self.media_root.with_name(f"{self.media_root.name}-fetching")

    def configure(self, profile: str) -> None:
        emulator = f"{self.url}/emulator"
        host = self.url.split("//", 1)[1].split(":", 1)[0]
        self.env = {
            "RECORDER_BASE_URL": self.url,
            "GRAPH_API_PROFILE": profile,
            "GRAPH_API_BASE_URL": f"{emulator}/{'beta' if profile == 'beta-record' else 'v1.0'}",
            "GRAPH_AUTHORITY_URL": emulator,
            "NOTIFICATION_URL": f"{self.url}/api/calls",
            "NOTIFICATION_OPENID_CONFIG_URL": f"{emulator}/.well-known/OpenIdConfiguration",
            "GRAPH_EMULATOR_CALLBACK_URL": f"{self.url}/api/calls",
            "RECORDING_DOWNLOAD_HOSTS": host,
            "RECORDER_CLOSE_GRACE_SECONDS": "0.5",
            "GRAPH_EMULATOR_TIME_SCALE": str(TIME_SCALE),
            "GRAPH_MAX_RETRY_AFTER": "1",
            "MEDIA_ROOT": str(self.media_root),
            "RECORDING_FETCH_DIR": str(self.fetch_dir),
            "RECORDING_FETCH_BACKOFF_SECONDS": "0.2",
        }
        for name, value in self.env.items():
            if name == "RECORDING_DOWNLOAD_HOSTS":
                value = value.split(",")
            elif name in ("MEDIA_ROOT", "RECORDING_FETCH_DIR"):
                value = Path(value)
            elif name in (
                "RECORDER_CLOSE_GRACE_SECONDS",
                "GRAPH_EMULATOR_TIME_SCALE",
                "GRAPH_MAX_RETRY_AFTER",
                "RECORDING_FETCH_BACKOFF_SECONDS",
            ):
                value = float(value)
            setattr(self.settings, name, value)
        # Recordings are fetched over loopback from this emulator's route alone.
        self.settings.EMULATOR_URL = emulator
        self.settings.GRAPH_EMULATOR_RECORDINGS_URL = f"{emulator}/recordings/"
        # Graph's 15 s to answer is wall-clock time for the bot: the worker's pace is real.
        self.settings.GRAPH_EMULATOR_ANSWER_TIMEOUT = 15 / TIME_SCALE
        use_task_backend(self.settings)
        keys = NotificationKeys(
            openid_config_url=self.env["NOTIFICATION_OPENID_CONFIG_URL"],
            timeout=5,
            refetch_interval=30,
            log_factory=DatabaseExchangeLog,
        )
        self.monkeypatch.setattr(webhook, "notification_keys", lambda: keys)
        webhook.verified_tokens.clear()
        # Each test's emulator signs with a key of its own (the database is emptied between
        # tests), so an app token cached by an earlier test would be refused.
        self.monkeypatch.setattr(graph_setup, "_providers", {})

    def start_worker(self, queues: str = "*", **extra_env: str) -> subprocess.Popen:
        """Start one more task worker process on `queues` (comma-separated; all by default);
        `extra_env` overrides its environment."""
        env = {
            **os.environ,
            **self.env,
            "DATABASE_URL": database_url(),
            "TASKS_BACKEND": "database",
            **extra_env,
        }
        self.worker_log.parent.mkdir(exist_ok=True)
        log = self.worker_log
        if self.workers:
            log = log.with_name(f"{log.stem}-{len(self.workers) + 1}{log.suffix}")
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--interval",
                "0.05",
                "--no-startup-delay",
                "--no-reload",
                "--queue-name",
                queues,
            ],
            cwd=REPO,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.workers.append(worker)
        self.worker = self.workers[0]
        return worker

    def stop_worker(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()

    def ring(self, script: str, caller: str = "+15550100") -> str:
        out = io.StringIO()
        with redirect_stdout(out):
            call_command(
                "emulator_call",
                script=script,
                caller=caller,
                callback=self.env["NOTIFICATION_URL"],
                stdout=out,
            )
        return out.getvalue().strip().splitlines()[-1]

    def wait_for(self, predicate, *, timeout: float = 20.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        log = self.worker_log.read_text() if self.worker_log.exists() else ""
        raise AssertionError(f"Timed out waiting for {what}. Worker log:\n{log[-3000:]}")

    def wait_for_call(self, call_id: str, state: str) -> Call:
        return self.wait_for(
            lambda: Call.objects.with_graph_id(call_id).filter(state=state).first(),
            what=f"call {call_id} to be {state}",
        )

    def wait_until_final(self, operation: RecordOperation, timeout: float = 20.0):
        def final():
            operation.refresh_from_db()
            return operation.is_final

        self.wait_for(final, timeout=timeout, what=f"operation {operation.graph_id} to end")
        return operation


def set_faults(recorder, **faults):
    response = requests.post(f"{recorder.url}/emulator/control/faults", json=faults, timeout=5)
    assert response.status_code in (200, 204), response.text


def answered_call(recorder, script: str) -> Call:
    """A call rung and answered, with the keys subscribed to: the answer task sends its
    subscribeToTone after the answer, so Graph may say established before that is done, and
    a fault set for the next request would meet it instead of the test's."""
    recorder.start_worker()
    call_id = recorder.ring(script)
    call = recorder.wait_for_call(call_id, "established")
    recorder.wait_for(
        lambda: GraphExchange.objects.filter(
            call=call, action="subscribeToTone", finished_at__isnull=False
        ).exists(),
        what=f"the keys of call {call_id} to be subscribed to",
    )
    return call


def stop_tone_spec(recorder, profile: str) -> RecordSpec:
    tone = PromptSpec(kind="media", uri=f"{recorder.url}/emulator/media/tone-400.wav")
    prompts = (tone,) if profile == "v1.0" else (PromptSpec(kind="silence", duration_ms=300), tone)
    return RecordSpec(
        prompts=prompts,
        stop_tones=("#",),
        max_record_duration=20,
        initial_silence_timeout=5,
        max_silence_timeout=5,
    )
