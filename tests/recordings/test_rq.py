"""TASKS_BACKEND=rq: the same fetch task runs on Redis through django-tasks-rq, and a retry
is deferred in RQ's scheduler. Needs the Redis at REDIS_URL (.ci/run starts it)."""

import os
from datetime import timedelta

import pytest
import redis
import responses
from django.conf import settings as django_settings
from django.utils import timezone

from recordings import services
from recordings.models import FetchStatus, Recording
from tests.recordings.test_fetch import AUDIO, LOCATION

# A database of its own on the Redis server, emptied around each test.
TEST_REDIS_DB = 15


def _redis_url() -> str:
    base = django_settings.REDIS_URL.rsplit("/", 1)[0]
    return f"{base}/{TEST_REDIS_DB}"


@pytest.fixture
def rq_backend(settings):
    url = _redis_url()
    try:
        connection = redis.Redis.from_url(url)
        connection.ping()
    except redis.RedisError as err:
        if os.environ.get("RECORDER_TEST_REDIS") == "required":
            raise
        pytest.skip(f"Redis is not reachable at {url} ({err}); .ci/run starts one.")
    connection.flushdb()
    # django_rq stays out of INSTALLED_APPS here: installing it for one test would leave its
    # admin registered for the rest of the run. Enqueueing and working need only its queues.
    settings.RQ_QUEUES = {"default": {"URL": url}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    yield connection
    connection.flushdb()


@pytest.fixture(autouse=True)
def _fetch_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_DOWNLOAD_HOSTS = ["file.location"]


def run_worker() -> None:
    import django_rq
    from django_tasks_rq import Job
    from rq import SimpleWorker

    queue = django_rq.get_queue("default", job_class=Job)
    SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)


@pytest.fixture
def pending(make_operation):
    operation = make_operation(
        status="completed", recording_location=LOCATION, recording_access_token="t"
    )
    return Recording.objects.create(operation=operation)


def test_an_rq_worker_fetches_the_recording(rq_backend, pending, graph_http):
    from recordings.tasks import fetch_recording_task

    graph_http.add(responses.GET, LOCATION, body=AUDIO)
    result = fetch_recording_task.enqueue(pending.pk)
    run_worker()

    pending.refresh_from_db()
    assert pending.status == FetchStatus.STORED
    assert pending.size_bytes == len(AUDIO)
    assert fetch_recording_task.get_backend().get_result(result.id).status == "SUCCESSFUL"


def test_a_retry_is_deferred_in_rqs_scheduler(
    rq_backend, pending, graph_http, django_capture_on_commit_callbacks
):
    import django_rq
    from rq.registry import ScheduledJobRegistry

    graph_http.add(responses.GET, LOCATION, status=503, body=b"")
    with django_capture_on_commit_callbacks(execute=True):
        services.fetch_recording(recording_pk=pending.pk)
    pending.refresh_from_db()
    assert pending.status == FetchStatus.PENDING

    registry = ScheduledJobRegistry(queue=django_rq.get_queue("default"))
    (job_id,) = registry.get_job_ids()
    when = registry.get_scheduled_time(job_id)
    assert abs(when - pending.next_attempt_at) < timedelta(seconds=1)
    assert when > timezone.now()
