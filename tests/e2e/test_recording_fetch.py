"""The audio becomes Recorder's own, end to end over real HTTP: the emulator records a caller,
a task worker fetches the WAV into storage, an operator plays it with a Range request, and
retention purges it. Also: an expired link, two workers on PostgreSQL fetching once, and a
reconcile racing the periodic retry on another worker."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import connection
from django.tasks import TaskResultStatus
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from recordings.models import (
    Call,
    CallState,
    FetchStatus,
    GraphExchange,
    Recording,
    RecordOperation,
)
from recordings.services import recordings as recording_services
from recordings.tasks import fetch_recording_task
from tests.support.audio import wav_bytes
from tests.support.db import database_url
from tests.support.e2e import answered_call, set_faults, stop_tone_spec
from tests.support.factories import create_operation
from tests.support.hosts import Host, authorizing
from tests.support.paths import REPO

pytestmark = pytest.mark.e2e


def wait_for_recording(recorder, operation: RecordOperation, *statuses: str) -> Recording:
    def settled():
        recording = Recording.objects.filter(operation=operation).first()
        return recording if recording and recording.status in statuses else None

    return recorder.wait_for(settled, what=f"the recording of {operation.graph_id} to settle")


def operator_session() -> requests.Session:
    """A browser-like session of an operator allowed to download recordings."""
    user = User.objects.create_user("operator", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="download_recording"))
    client = Client()
    client.force_login(user)
    session = requests.Session()
    # As a header: the cookie jar won't match a bare "localhost" domain.
    session.headers["Cookie"] = f"sessionid={client.cookies['sessionid'].value}"
    return session


def test_a_recording_is_fetched_played_with_a_range_and_purged(recorder):
    call = answered_call(recorder, "speak 1.5; press #")
    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, "beta-record")
    )
    recorder.wait_until_final(operation)
    assert operation.status == "completed"

    recording = wait_for_recording(recorder, operation, FetchStatus.STORED, FetchStatus.FAILED)
    assert recording.status == FetchStatus.STORED, recording.error
    assert (recording.sample_rate, recording.channels, recording.sample_width_bytes) == (
        16000,
        1,
        2,
    )
    assert 1.4 <= recording.duration_seconds <= 2.5
    assert recording.waveform_svg.startswith("<svg")
    stored = (recorder.media_root / recording.file.name).read_bytes()
    assert len(stored) == recording.size_bytes

    audio_url = recorder.url + reverse("recordings:recording-audio", args=[operation.pk])
    session = operator_session()
    answer = session.get(audio_url, headers={"Range": "bytes=100-"}, timeout=10)
    assert answer.status_code == 206
    assert answer.headers["Content-Type"] == "audio/wav"
    assert answer.headers["Content-Range"] == f"bytes 100-{len(stored) - 1}/{len(stored)}"
    assert answer.content == stored[100:]
    download = session.get(audio_url + "?download=1", timeout=10)
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.content == stored
    assert requests.get(audio_url, timeout=10, allow_redirects=False).status_code == 302

    # A day later, with a retention of zero days, the audio goes and the row stays.
    call_command("purge_recordings", "--days", "0")
    recording.refresh_from_db()
    assert recording.status == FetchStatus.PURGED
    assert not (recorder.media_root / "recordings").exists() or not any(
        (recorder.media_root / "recordings").rglob("*.wav")
    )
    assert session.get(audio_url, timeout=10).status_code == 404


def test_an_expired_link_leaves_a_failed_fetch_saying_so(recorder):
    set_faults(recorder, expire_links=True)
    call = answered_call(recorder, "speak 1; press #")
    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, "beta-record")
    )
    recorder.wait_until_final(operation)

    recording = wait_for_recording(recorder, operation, FetchStatus.STORED, FetchStatus.FAILED)
    assert recording.status == FetchStatus.FAILED
    assert recording.link_expired_at is not None
    assert "link expired or was refused" in recording.error
    assert recording.attempts == 1
    exchange = GraphExchange.objects.get(operation=operation, action="download recording")
    assert exchange.response_status == 404


def test_two_workers_on_postgresql_fetch_once_and_keep_one_file(recorder):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: two worker processes race for the same row there; SQLite "
            "lets one writer in at a time (.ci/run runs the suite on PostgreSQL too)"
        )
    audio = wav_bytes(2.0)
    server = Host(authorizing(audio, token="op-token", delay=0.5))
    try:
        call = Call.objects.create(graph_id="two-workers-call", state=CallState.TERMINATED)
        operation = create_operation(
            graph_id="two-workers-op",
            call=call,
            profile="beta-record",
            client_context="ctx",
            max_record_duration=None,
            status="completed",
            recording_location=server.url,
            recording_access_token="op-token",
            finished_at=timezone.now(),
        )
        recording = Recording.objects.create(operation=operation)
        hosts = f"{recorder.env['RECORDING_DOWNLOAD_HOSTS']},127.0.0.1"
        recorder.settings.RECORDING_DOWNLOAD_HOSTS = hosts.split(",")
        # A duplicate completion, a retried task, a reconcile: the same fetch, many times.
        results = [fetch_recording_task.enqueue(recording.pk) for _ in range(6)]
        recorder.start_worker(RECORDING_DOWNLOAD_HOSTS=hosts, RECORDER_BASE_URL=server.base_url)
        recorder.start_worker(RECORDING_DOWNLOAD_HOSTS=hosts, RECORDER_BASE_URL=server.base_url)

        def all_done():
            rows = DBTaskResult.objects.filter(id__in=[r.id for r in results])
            finished = [r for r in rows if r.status == TaskResultStatus.SUCCESSFUL]
            return rows if len(finished) == len(results) else None

        rows = recorder.wait_for(all_done, timeout=30, what="the six fetch tasks")
        recording.refresh_from_db()
        assert recording.status == FetchStatus.STORED, recording.error
        assert server.hits == 1
        assert [r.return_value for r in rows].count(True) == 1
        assert len({worker for r in rows for worker in r.worker_ids}) == 2
        files = list((recorder.media_root / "recordings").rglob("*"))
        assert [f.name for f in files if f.is_file()] == [f"{operation.graph_id}.wav"]
        assert GraphExchange.objects.filter(action="download recording").count() == 1
        assert recording.attempts == 1
        assert recording.stored_at > timezone.now() - timedelta(minutes=1)
    finally:
        server.close()


# One of two workers, each in its own process: "reconcile" learns from Graph (faked) that the
# operation completed, and is held between that completion and its Recording row while
# "retry" runs the periodic retry, which makes rows for completed operations that lack one.
RACER = """
import pathlib, sys, time

import django

django.setup()
from recordings.graph import ParsedOperation
from recordings.models import RecordOperation
from recordings.services import fetching as fetch_services
from recordings.services import operations as operation_services

role, signals, graph_id = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]


def wait_for(name, timeout):
    deadline = time.monotonic() + timeout
    while not (signals / name).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


class Graph:
    def get_operation(self, call_id, operation_id, *, log=None):
        return ParsedOperation(
            id=operation_id,
            status="completed",
            completion_reason="stopToneDetected",
            recording_location="https://file.location/x",
            recording_access_token="t",
        )


if role == "reconcile":
    expect = fetch_services.expect_recording

    def expect_after_the_retry(**moved):
        (signals / "completed").touch()
        wait_for("retried", 10)
        expect(**moved)

    fetch_services.expect_recording = expect_after_the_retry
    operation = RecordOperation.objects.select_related("call").get(graph_id=graph_id)
    print(operation_services.reconcile_operation(operation=operation, client=Graph()))
else:
    wait_for("completed", 20)
    print(fetch_services.retry_recording_fetches())
    (signals / "retried").touch()
"""


def test_a_reconcile_racing_the_retry_on_postgresql_makes_one_recording_and_fails_neither(
    transactional_db, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL, the production database: it shows how two worker processes' "
            "transactions interleave there (.ci/run runs the suite on PostgreSQL too)"
        )
    call = Call.objects.create(graph_id="race-call", state=CallState.ESTABLISHED)
    operation = create_operation(graph_id="race-op", call=call, status="running")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recorder_site.settings",
        "DATABASE_URL": database_url(),
        "TASKS_BACKEND": "dummy",
    }
    workers = {
        role: subprocess.Popen(
            [sys.executable, "-c", RACER, role, str(tmp_path), operation.graph_id],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ("reconcile", "retry")
    }
    (reconciled, reconcile_log), (retried, retry_log) = (
        worker.communicate(timeout=60) for worker in workers.values()
    )

    assert (tmp_path / "completed").exists()  # the reconcile was held where the race is
    assert workers["reconcile"].returncode == 0, reconcile_log[-3000:]
    assert reconciled.strip() == "True"
    assert workers["retry"].returncode == 0, retry_log[-3000:]
    # The completion and its row commit together: the retry never saw one without the other.
    assert retried.strip() == "[]"
    operation.refresh_from_db()
    assert operation.status == "completed"
    assert Recording.objects.get(operation=operation).status == FetchStatus.PENDING
