"""A recording host that misbehaves, against a real task worker process: one that drips a
byte at a time, and one whose error body is a gzip bomb. The worker ends each fetch on time,
keeps its memory flat, and leaves a row that says why. And a worker killed mid-download:
another takes its fetch over while the audio is still there, and its partial file goes."""

import time
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from recordings.models import Call, CallState, FetchStatus, Recording
from recordings.services import fetching as fetch_services
from recordings.tasks import fetch_recording_task
from tests.support.audio import wav_bytes
from tests.support.factories import create_operation
from tests.support.hosts import Host, answering, dripping, gzip_bomb, trickling

pytestmark = pytest.mark.e2e

TOKEN = "fault-token"


def pending_recording(location: str, graph_id: str = "fault-op") -> Recording:
    call = Call.objects.create(graph_id=f"call-of-{graph_id}", state=CallState.TERMINATED)
    operation = create_operation(
        graph_id=graph_id,
        call=call,
        profile="beta-record",
        client_context="ctx",
        max_record_duration=None,
        status="completed",
        recording_location=location,
        recording_access_token=TOKEN,
        finished_at=timezone.now(),
    )
    return Recording.objects.create(operation=operation)


def peak_rss_mib(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def settled(recorder, recording: Recording, *, timeout: float) -> Recording:
    def done():
        recording.refresh_from_db()
        return recording.status != FetchStatus.FETCHING and recording.attempts > 0

    recorder.wait_for(done, timeout=timeout, what=f"recording {recording.pk} to settle")
    return recording


def test_a_host_that_drips_a_byte_at_a_time_is_cut_off_at_the_deadline(recorder):
    # A byte every second never trips a 30 s read timeout; the deadline is 4 s. Dripping
    # out its megabyte would take this host eleven days.
    with Host(dripping(every=1.0)) as host:
        recording = pending_recording(host.url)
        worker = recorder.start_worker(
            RECORDER_BASE_URL=host.base_url,
            RECORDING_DOWNLOAD_HOSTS="127.0.0.1",
            RECORDING_FETCH_TIMEOUT="30",
            RECORDING_FETCH_DEADLINE_SECONDS="4",
        )
        fetch_recording_task.enqueue(recording.pk)
        # Timed from the worker's claim: a worker starting on a loaded machine is not the
        # fetch being slow.
        recorder.wait_for(
            lambda: Recording.objects.filter(pk=recording.pk, status=FetchStatus.FETCHING).exists(),
            timeout=60,
            what="the worker to claim the fetch",
        )
        started = time.monotonic()

        settled(recorder, recording, timeout=20)
        took = time.monotonic() - started

    assert recording.status == FetchStatus.PENDING  # a passing failure: tried again later
    assert "deadline" in recording.error
    assert took < 8, f"the fetch took {took:.1f} s against a 4 s deadline"
    assert worker.poll() is None


def test_an_error_body_that_is_a_gzip_bomb_leaves_the_workers_memory_flat(recorder):
    bomb = answering(
        500,
        gzip_bomb(1024 * 1024 * 1024),  # 1 GiB of zeros in about 1 MiB
        {"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    small = answering(
        500, b'{"error": {"code": "x", "message": "m"}}', {"Content-Type": "application/json"}
    )

    def answer(handler, host):
        (bomb if handler.path.endswith("/bomb") else small)(handler, host)

    with Host(answer) as host:
        # A fetch first that fails the same way with a small body: the worker has then loaded
        # all a fetch needs, and what it holds after the bomb is the bomb's doing alone.
        first = pending_recording(f"{host.base_url}/emulator/recordings/small", graph_id="small")
        recording = pending_recording(f"{host.base_url}/emulator/recordings/bomb")
        worker = recorder.start_worker(
            RECORDER_BASE_URL=host.base_url, RECORDING_DOWNLOAD_HOSTS="127.0.0.1"
        )
        fetch_recording_task.enqueue(first.pk)
        settled(recorder, first, timeout=60)
        before = peak_rss_mib(worker.pid)
        fetch_recording_task.enqueue(recording.pk)

        settled(recorder, recording, timeout=30)
        after = peak_rss_mib(worker.pid)

    print(f"worker peak RSS: {before:.0f} MiB before the bomb, {after:.0f} MiB after")
    assert recording.status == FetchStatus.PENDING
    assert "500" in recording.error
    assert host.hits == 2
    assert after - before < 32, f"the worker grew from {before:.0f} to {after:.0f} MiB"


def test_a_fetch_whose_worker_was_killed_is_taken_over_and_stored_once(recorder, settings):
    # Production: a 30 s lease renewed every 10 s, swept every minute. Here the same, shorter.
    lease = "1.5"
    settings.RECORDING_FETCH_LEASE_SECONDS = float(lease)
    # 2.6 MB, served 32 kB every 0.05 s: 4 s a download, written to disk a MiB at a time.
    audio = wav_bytes(seconds=80.0)
    with Host(trickling(audio, chunk=32 * 1024, every=0.05)) as host:
        recording = pending_recording(host.url)
        env = {
            "RECORDER_BASE_URL": host.base_url,
            "RECORDING_DOWNLOAD_HOSTS": "127.0.0.1",
            "RECORDING_FETCH_LEASE_SECONDS": lease,
        }
        first = recorder.start_worker(**env)
        fetch_recording_task.enqueue(recording.pk)

        def downloading() -> list[Path]:
            recording.refresh_from_db()
            partial = list(recorder.fetch_dir.glob(f"recording-{recording.pk}-*.part"))
            under_way = recording.status == FetchStatus.FETCHING
            return partial if under_way and partial and partial[0].stat().st_size > 0 else []

        (partial,) = recorder.wait_for(downloading, what="the first worker's download")
        first.kill()  # SIGKILL: no finally runs, no lease is given back
        first.wait()
        assert 0 < partial.stat().st_size < len(audio)  # killed mid-download
        killed = time.monotonic()
        recorder.start_worker(**env)

        taken_over = None
        deadline = killed + 120
        while time.monotonic() < deadline:
            # What the minute cron does, here every quarter second.
            fetch_services.take_over_lapsed_fetches()
            recording.refresh_from_db()
            if taken_over is None and recording.attempts == 2:
                taken_over = time.monotonic() - killed
            if recording.status == FetchStatus.STORED and not partial.exists():
                break
            time.sleep(0.25)
        stored = time.monotonic() - killed
        assert requests.get(f"{recorder.url}/admin/login/", timeout=5).status_code == 200

    print(f"taken over {taken_over:.1f} s and stored {stored:.1f} s after the kill")
    assert recording.status == FetchStatus.STORED, recording.error
    assert recording.attempts == 2
    assert recording.size_bytes == len(audio)
    assert [p.name for p in (recorder.media_root / "recordings").rglob("*.wav")] == [
        Path(recording.file.name).name
    ]
    assert not partial.exists()
    assert list(recorder.fetch_dir.iterdir()) == []
    assert host.hits == 2
    assert stored < 30
