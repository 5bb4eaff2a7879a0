"""Answering a call never waits behind audio work: Graph drops a call the bot has not answered
within 15 s, while a fetch may hang on a silent host for as long as its timeout, with due
retries queued behind it. The calls queue has a worker of its own, so the answer goes out
while the audio worker is stuck."""

import socket
import threading
import time

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from recordings.models import Call, CallState, Recording
from recordings.tasks import fetch_recording_task
from tests.support.factories import create_operation

pytestmark = pytest.mark.e2e

GRAPH_ANSWER_WINDOW = 15.0  # seconds, wall clock, as Graph allows


class SilentHost:
    """A recording location that accepts connections and never says a word."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        # On loopback only the emulator's recording route is fetched: the audio worker
        # takes this host for the emulator (RECORDER_BASE_URL=base_url).
        self.base_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.url = f"{self.base_url}/emulator/recordings/recording"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self):
        # Closing the connections ends the stuck fetch, so its worker can stop.
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent_host():
    host = SilentHost()
    yield host
    host.close()


def pending_fetches(recorder, location: str, count: int) -> list[Recording]:
    recordings = []
    for n in range(count):
        call = Call.objects.create(graph_id=f"earlier-call-{n}", state=CallState.TERMINATED)
        operation = create_operation(
            graph_id=f"earlier-op-{n}",
            call=call,
            profile="beta-record",
            client_context=f"ctx-{n}",
            max_record_duration=None,
            status="completed",
            recording_location=location,
            recording_access_token="token",
            finished_at=timezone.now(),
        )
        recordings.append(Recording.objects.create(operation=operation))
    return recordings


def test_a_call_is_answered_in_time_while_the_audio_worker_hangs_on_a_fetch(recorder, silent_host):
    hosts = f"{recorder.env['RECORDING_DOWNLOAD_HOSTS']},127.0.0.1"
    recorder.settings.RECORDING_DOWNLOAD_HOSTS = hosts.split(",")
    # Fetches that are due, as retries are: the database queue runs them before fresh tasks.
    due = timezone.now()
    fetches = [
        fetch_recording_task.using(run_after=due).enqueue(recording.pk)
        for recording in pending_fetches(recorder, silent_host.url, 3)
    ]
    recorder.start_worker(queues="calls")
    # Each fetch waits on the silent host far longer than Graph waits for an answer.
    recorder.start_worker(
        queues="default",
        RECORDING_DOWNLOAD_HOSTS=hosts,
        RECORDING_FETCH_TIMEOUT="60",
        RECORDER_BASE_URL=silent_host.base_url,
    )
    recorder.wait_for(
        lambda: DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists(),
        what="the audio worker to take a fetch",
    )

    rang = time.monotonic()
    call_id = recorder.ring("speak 5")
    # Established: the emulator took the answer, which it refuses after Graph's 15 s.
    recorder.wait_for(
        lambda: Call.objects.with_graph_id(call_id).filter(state=CallState.ESTABLISHED).exists(),
        timeout=GRAPH_ANSWER_WINDOW,
        what=f"call {call_id} to be answered within Graph's {GRAPH_ANSWER_WINDOW:.0f} s",
    )

    assert time.monotonic() - rang < GRAPH_ANSWER_WINDOW
    # The audio worker was stuck all along, with the other due fetches waiting behind it.
    statuses = sorted(DBTaskResult.objects.get(id=result.id).status for result in fetches)
    assert statuses == [TaskResultStatus.READY] * 2 + [TaskResultStatus.RUNNING]
