"""TASKS_BACKEND=rq: the same fetch task runs on Redis through django-tasks-rq, in a real
`rqworker` process, and a retry is deferred in RQ's scheduler. Needs the Redis at REDIS_URL
(.ci/run starts it); skipped without one, except where RECORDER_TEST_REDIS=required."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone

from recordings.models import Call, CallState, FetchStatus, Recording
from recordings.services import fetching as fetch_services
from recordings.tasks import fetch_recording_task
from tests.support.audio import wav_bytes
from tests.support.db import database_url
from tests.support.factories import create_operation
from tests.support.hosts import Host, authorizing
from tests.support.paths import REPO

pytestmark = pytest.mark.e2e

# A database of its own on the Redis server, emptied around each test.
TEST_REDIS_DB = 15
TOKEN = "rq-token"


@pytest.fixture
def redis_url(settings) -> str:
    url = f"{django_settings.REDIS_URL.rsplit('/', 1)[0]}/{TEST_REDIS_DB}"
    try:
        connection = redis.Redis.from_url(url)
        connection.ping()
    except redis.RedisError as err:
        if os.environ.get("RECORDER_TEST_REDIS") == "required":
            raise
        pytest.skip(f"Redis is not reachable at {url} ({err}); .ci/run starts one.")
    connection.flushdb()
    # django_rq stays out of INSTALLED_APPS here: installing it for one test would leave its
    # admin registered for the rest of the run. Enqueueing needs only its queues.
    settings.RQ_QUEUES = {"default": {"URL": url}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    yield url
    connection.flushdb()


@pytest.fixture
def server():
    server = Host(authorizing(wav_bytes(1.0), token=TOKEN))
    yield server
    server.close()


@pytest.fixture
def pending(transactional_db, server, settings, tmp_path) -> Recording:
    settings.RECORDING_DOWNLOAD_HOSTS = ["127.0.0.1"]
    settings.GRAPH_EMULATOR_RECORDINGS_URL = f"{server.base_url}/emulator/recordings/"
    settings.MEDIA_ROOT = tmp_path / "media"
    call = Call.objects.create(graph_id="rq-call", state=CallState.TERMINATED)
    operation = create_operation(
        graph_id="rq-op",
        call=call,
        profile="beta-record",
        client_context="ctx",
        max_record_duration=None,
        status="completed",
        recording_location=server.url,
        recording_access_token=TOKEN,
        finished_at=timezone.now(),
    )
    return Recording.objects.create(operation=operation)


def test_an_rq_worker_process_fetches_the_recording(redis_url, pending, server, settings):
    result = fetch_recording_task.enqueue(pending.pk)
    worker = subprocess.run(
        [
            *(sys.executable, "manage.py", "rqworker", "default"),
            *("--job-class", "django_tasks_rq.Job", "--burst"),
        ],
        cwd=REPO,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "TASKS_BACKEND": "rq",
            "REDIS_URL": redis_url,
            "RECORDING_DOWNLOAD_HOSTS": "127.0.0.1",
            "RECORDER_BASE_URL": server.base_url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]

    pending.refresh_from_db()
    assert pending.status == FetchStatus.STORED, pending.error or worker.stderr[-3000:]
    assert server.hits == 1
    assert (settings.MEDIA_ROOT / pending.file.name).stat().st_size == pending.size_bytes
    assert fetch_recording_task.get_backend().get_result(result.id).status == "SUCCESSFUL"


def test_a_retry_is_deferred_in_rqs_scheduler(
    redis_url, pending, settings, django_capture_on_commit_callbacks
):
    import django_rq
    from rq.registry import ScheduledJobRegistry

    pending.operation.recording_location = "http://127.0.0.1:9/emulator/recordings/none"
    pending.operation.save()
    settings.GRAPH_EMULATOR_RECORDINGS_URL = "http://127.0.0.1:9/emulator/recordings/"
    with django_capture_on_commit_callbacks(execute=True):
        fetch_services.fetch_recording(recording_pk=pending.pk)
    pending.refresh_from_db()
    assert pending.status == FetchStatus.PENDING, pending.error

    registry = ScheduledJobRegistry(queue=django_rq.get_queue("default"))
    (job_id,) = registry.get_job_ids()
    when = registry.get_scheduled_time(job_id)
    assert abs(when - pending.next_attempt_at) < timedelta(seconds=1)
    assert when > timezone.now()
