"""Fetching an operation's audio: once, from allowed hosts only, into storage, with its facts;
every refusal and failure leaves a row saying why. Graph is faked at the HTTP seam."""

import hashlib
import json
import time
from datetime import datetime, timedelta

import pytest
import requests
import responses
from django.core.files.storage import default_storage
from django.tasks.signals import task_enqueued
from django.utils import timezone

from recordings.models import FetchStatus, GraphExchange, Recording, RecordOperation
from recordings.services import fetching as fetch_services
from recordings.services import notifications as notification_services
from recordings.services import operations as operation_services
from tests.support.audio import wav_bytes
from tests.support.graph import graph_fixture

LOCATION = "https://file.location/17e3b46c-f61d-4f4d-9635-c626ef18e6ad"
ACCESS_TOKEN = "<access-token>"


AUDIO = wav_bytes(1.0)


@pytest.fixture(autouse=True)
def _fetch_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_FETCH_DIR = tmp_path / "fetching"
    settings.RECORDING_DOWNLOAD_HOSTS = ["file.location"]
    settings.RECORDING_MAX_BYTES = 10 * 1024 * 1024
    settings.RECORDING_FETCH_MAX_ATTEMPTS = 3
    settings.RECORDING_FETCH_BACKOFF_SECONDS = 10


# What was enqueued, from the signal every backend sends: it does not depend on which
# backend instance the handler hands out (another test's settings may have swapped it).
ENQUEUED: list = []


def _record_enqueued(sender, task_result, **kwargs) -> None:
    ENQUEUED.append(task_result)


@pytest.fixture(autouse=True)
def _enqueued():
    ENQUEUED.clear()
    task_enqueued.connect(_record_enqueued)
    yield
    task_enqueued.disconnect(_record_enqueued)


def enqueued(name: str = "fetch_recording_task") -> list:
    return [r for r in ENQUEUED if r.task.name == name]


def completion_body() -> bytes:
    return json.dumps(graph_fixture("v1.0/notification-completed")).encode()


def complete(django_capture_on_commit_callbacks) -> RecordOperation:
    with django_capture_on_commit_callbacks(execute=True):
        notification_services.receive_notification(
            body=completion_body(), headers={}, remote_addr=None, claims={}
        )
    return RecordOperation.objects.get()


@pytest.fixture
def completed(make_operation, django_capture_on_commit_callbacks):
    make_operation()
    return complete(django_capture_on_commit_callbacks)


def serve(graph_http, body=AUDIO, status=200, **kwargs):
    graph_http.add(responses.GET, LOCATION, body=body, status=status, **kwargs)


def fetch(operation: RecordOperation) -> Recording:
    fetch_services.fetch_recording(recording_pk=operation.recording.pk)
    return Recording.objects.get(pk=operation.recording.pk)


def test_a_completion_creates_one_pending_recording_and_enqueues_its_fetch(completed):
    recording = completed.recording
    assert recording.status == FetchStatus.PENDING
    assert [r.args for r in enqueued()] == [[recording.pk]]


def test_a_duplicate_completion_neither_adds_a_row_nor_enqueues_again(
    completed, django_capture_on_commit_callbacks
):
    complete(django_capture_on_commit_callbacks)
    assert Recording.objects.count() == 1
    assert len(enqueued()) == 1


def test_a_failed_operation_gets_no_recording(make_operation, django_capture_on_commit_callbacks):
    make_operation()
    payload = graph_fixture("v1.0/notification-canceled")
    with django_capture_on_commit_callbacks(execute=True):
        notification_services.receive_notification(
            body=json.dumps(payload).encode(), headers={}, remote_addr=None, claims={}
        )
    assert not Recording.objects.exists()
    assert enqueued() == []


def test_it_stores_the_audio_with_its_facts(completed, graph_http):
    serve(graph_http)
    recording = fetch(completed)

    assert recording.status == FetchStatus.STORED
    assert recording.error == ""
    assert recording.size_bytes == len(AUDIO)
    assert recording.sha256 == hashlib.sha256(AUDIO).hexdigest()
    facts = (recording.sample_rate, recording.channels, recording.sample_width_bytes)
    assert facts == (16000, 1, 2)
    assert recording.duration_seconds == pytest.approx(1.0)
    assert recording.waveform_svg.startswith("<svg")
    assert recording.peak_dbfs is not None and recording.rms_dbfs is not None
    assert recording.rms_dbfs <= recording.peak_dbfs <= 0
    assert recording.stored_at is not None
    assert recording.attempts == 1
    with default_storage.open(recording.file.name) as stored:
        assert stored.read() == AUDIO
    sent = graph_http.calls[-1].request
    assert sent.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    exchange = GraphExchange.objects.get(operation=completed, action="download recording")
    assert exchange.response_status == 200


def test_running_the_task_again_fetches_nothing_more(completed, graph_http, settings):
    serve(graph_http)
    fetch(completed)
    assert fetch_services.fetch_recording(recording_pk=completed.recording.pk) is None
    assert len([c for c in graph_http.calls if c.request.url == LOCATION]) == 1
    assert len(list((settings.MEDIA_ROOT / "recordings").rglob("*.wav"))) == 1


def test_a_host_off_the_list_is_never_contacted(completed, graph_http, settings):
    settings.RECORDING_DOWNLOAD_HOSTS = ["graph.example.com"]
    recording = fetch(completed)
    assert recording.status == FetchStatus.FAILED
    assert "file.location is not in RECORDING_DOWNLOAD_HOSTS" in recording.error
    assert recording.next_attempt_at is None
    assert not [c for c in graph_http.calls if c.request.url == LOCATION]


def test_plain_http_is_refused_off_loopback(make_operation, graph_http, settings):
    operation = make_operation(
        status="completed", recording_location="http://file.location/x", recording_access_token="t"
    )
    recording = Recording.objects.create(operation=operation)
    fetch_services.fetch_recording(recording_pk=recording.pk)
    recording.refresh_from_db()
    assert recording.status == FetchStatus.FAILED
    assert "plain http" in recording.error


def test_the_token_never_goes_to_a_local_page_outside_the_emulators_route(
    make_operation, graph_http, settings
):
    settings.RECORDING_DOWNLOAD_HOSTS = ["127.0.0.1"]
    settings.GRAPH_EMULATOR_RECORDINGS_URL = "http://127.0.0.1:8000/emulator/recordings/"
    login = "http://127.0.0.1:8000/admin/login/"
    operation = make_operation(
        status="completed", recording_location=login, recording_access_token="t"
    )
    recording = Recording.objects.create(operation=operation)
    fetch_services.fetch_recording(recording_pk=recording.pk)
    recording.refresh_from_db()
    assert recording.status == FetchStatus.FAILED
    assert "outside the emulator's recording route" in recording.error
    assert not [c for c in graph_http.calls if c.request.url.startswith("http://127.0.0.1")]


def test_a_redirect_is_not_followed(completed, graph_http):
    serve(graph_http, body=b"", status=302, headers={"Location": "https://evil.example/x"})
    recording = fetch(completed)
    assert recording.status == FetchStatus.FAILED
    assert "redirect" in recording.error
    assert [c.request.url for c in graph_http.calls if "evil" in c.request.url] == []


def test_an_oversized_body_is_refused_and_nothing_kept(completed, graph_http, settings):
    settings.RECORDING_MAX_BYTES = 1000
    serve(graph_http)
    recording = fetch(completed)
    assert recording.status == FetchStatus.FAILED
    assert "RECORDING_MAX_BYTES" in recording.error
    assert not recording.file
    assert not (settings.MEDIA_ROOT / "recordings").exists()


def test_an_oversized_declared_length_is_refused_before_reading(completed, graph_http, settings):
    settings.RECORDING_MAX_BYTES = 1000
    serve(graph_http, headers={"Content-Length": str(len(AUDIO))})
    recording = fetch(completed)
    assert "bytes, more than RECORDING_MAX_BYTES" in recording.error


def test_a_body_that_is_not_wav_is_refused(completed, graph_http, settings):
    serve(graph_http, body=b"ID3" + b"\0" * 500)
    recording = fetch(completed)
    assert recording.status == FetchStatus.FAILED
    assert "not a WAV recording" in recording.error
    assert "MP3" in recording.error
    assert not (settings.MEDIA_ROOT / "recordings").exists()


def test_a_streamed_recording_without_its_length_in_the_header_is_kept_with_its_true_length(
    completed, graph_http
):
    at = AUDIO.index(b"data") + 4
    serve(graph_http, body=AUDIO[:at] + b"\xff\xff\xff\xff" + AUDIO[at + 4 :])
    recording = fetch(completed)
    assert recording.status == FetchStatus.STORED
    assert recording.duration_seconds == pytest.approx(1.0)


def test_a_recording_whose_header_promises_more_audio_than_it_holds_is_refused(
    completed, graph_http
):
    at = AUDIO.index(b"data") + 4
    serve(graph_http, body=AUDIO[:at] + (0x7FFFFFFF).to_bytes(4, "little") + AUDIO[at + 4 :])
    recording = fetch(completed)
    assert recording.status == FetchStatus.FAILED
    assert "promises 2,147,483,647 bytes of audio, but only 32,000 follow" in recording.error


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_an_expired_or_refused_link_ends_the_fetch(completed, graph_http, status):
    serve(graph_http, body=b'{"error": {"code": "itemNotFound", "message": "gone"}}', status=status)
    recording = fetch(completed)
    assert recording.status == FetchStatus.FAILED
    assert recording.link_expired_at is not None
    assert "link expired or was refused" in recording.error
    assert enqueued() == [enqueued()[0]]  # only the first fetch; no retry


def test_a_5xx_is_retried_with_backoff_then_succeeds(
    completed, graph_http, django_capture_on_commit_callbacks
):
    serve(graph_http, body=b"", status=503)
    serve(graph_http)
    with django_capture_on_commit_callbacks(execute=True):
        recording = fetch(completed)
    assert recording.status == FetchStatus.PENDING
    assert "Attempt 1 of 3 failed" in recording.error
    assert recording.next_attempt_at > timezone.now() + timedelta(seconds=5)
    retry = enqueued()[-1]
    assert retry.args == [recording.pk]
    assert retry.task.run_after == recording.next_attempt_at
    # Not due yet: a task run early claims nothing.
    assert fetch_services.fetch_recording(recording_pk=recording.pk) is None

    Recording.objects.filter(pk=recording.pk).update(next_attempt_at=timezone.now())
    recording = fetch(completed)
    assert recording.status == FetchStatus.STORED
    assert recording.attempts == 2
    assert recording.error == ""


def test_a_timeout_is_retried(completed, graph_http):
    graph_http.add(responses.GET, LOCATION, body=requests.ReadTimeout("slow"))
    recording = fetch(completed)
    assert recording.status == FetchStatus.PENDING
    assert "no answer before the timeout" in recording.error


def test_it_gives_up_after_the_last_attempt_but_may_retry_later(completed, graph_http):
    serve(graph_http, body=b"", status=500)
    for _ in range(3):
        Recording.objects.filter(pk=completed.recording.pk).update(next_attempt_at=None)
        recording = fetch(completed)
    assert recording.status == FetchStatus.FAILED
    assert recording.attempts == 3
    assert "Gave up after 3 attempts" in recording.error
    assert recording.link_expired_at is None
    assert recording.next_attempt_at is not None


def test_reconcile_retries_a_failed_fetch_whose_link_may_live(completed, graph_http):
    serve(graph_http, body=b"", status=500)
    Recording.objects.filter(pk=completed.recording.pk).update(attempts=2)
    fetch(completed)
    ENQUEUED.clear()

    later = timezone.now() + timedelta(hours=1)
    assert fetch_services.retry_recording_fetches(now=later) == [completed.recording.pk]
    recording = Recording.objects.get(pk=completed.recording.pk)
    assert recording.status == FetchStatus.PENDING
    assert [r.args for r in enqueued()] == [[recording.pk]]


def test_reconcile_leaves_expired_links_and_old_failures_alone(completed, graph_http, settings):
    serve(graph_http, body=b"", status=404)
    fetch(completed)
    ENQUEUED.clear()
    assert fetch_services.retry_recording_fetches(now=timezone.now() + timedelta(hours=1)) == []

    Recording.objects.filter(pk=completed.recording.pk).update(link_expired_at=None)
    too_late = timezone.now() + timedelta(hours=settings.RECORDING_FETCH_RETRY_HOURS + 1)
    assert fetch_services.retry_recording_fetches(now=too_late) == []


def test_a_claim_whose_worker_died_is_taken_over_after_its_lease(completed, graph_http, settings):
    stale = timezone.now() - timedelta(seconds=settings.RECORDING_FETCH_LEASE_SECONDS + 1)
    Recording.objects.filter(pk=completed.recording.pk).update(
        status=FetchStatus.FETCHING, claimed_at=stale, attempts=1
    )
    assert fetch_services.retry_recording_fetches() == [completed.recording.pk]
    serve(graph_http)
    recording = fetch(completed)
    assert recording.status == FetchStatus.STORED
    assert recording.attempts == 2


def test_a_live_claim_is_not_taken(completed, graph_http):
    Recording.objects.filter(pk=completed.recording.pk).update(
        status=FetchStatus.FETCHING, claimed_at=timezone.now()
    )
    assert fetch_services.fetch_recording(recording_pk=completed.recording.pk) is None
    assert fetch_services.retry_recording_fetches() == []


def test_a_worker_that_lost_its_claim_keeps_no_file(completed, graph_http, settings, monkeypatch):
    serve(graph_http)
    original = default_storage.save

    def save_then_lose_claim(name, content, **kwargs):
        saved = original(name, content, **kwargs)
        # Another worker took the claim over while this one was writing.
        Recording.objects.filter(pk=completed.recording.pk).update(claimed_at=timezone.now())
        return saved

    monkeypatch.setattr(default_storage, "save", save_then_lose_claim)
    assert fetch_services.fetch_recording(recording_pk=completed.recording.pk) is None
    assert list((settings.MEDIA_ROOT / "recordings").rglob("*.wav")) == []


def test_a_completion_learnt_by_asking_graph_also_gets_its_fetch(
    make_operation, graph_http, settings, call, django_capture_on_commit_callbacks
):
    operation = make_operation()
    data = graph_fixture("v1.0/notification-completed")["value"][0]["resourceData"]
    url = (
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}"
        f"/operations/{operation.graph_id}"
    )
    graph_http.add(responses.GET, url, json=data)
    with django_capture_on_commit_callbacks(execute=True):
        assert operation_services.reconcile_operation(operation=operation)
    recording = Recording.objects.get(operation=operation)
    assert recording.status == FetchStatus.PENDING
    assert [r.args for r in enqueued()] == [[recording.pk]]


def test_reconcile_gives_an_older_completed_operation_its_recording(make_operation):
    operation = make_operation(
        status="completed",
        recording_location=LOCATION,
        recording_access_token=ACCESS_TOKEN,
        finished_at=timezone.now(),
    )
    enqueued_pks = fetch_services.retry_recording_fetches()
    recording = Recording.objects.get(operation=operation)
    assert enqueued_pks == [recording.pk]
    assert recording.status == FetchStatus.PENDING


def test_a_stored_recording_is_playable_and_others_are_not(completed, graph_http):
    assert not completed.recording.is_playable
    serve(graph_http)
    assert fetch(completed).is_playable


def test_a_storage_failure_leaves_a_reason_and_is_retried(completed, graph_http, monkeypatch):
    serve(graph_http)

    def disk_full(name, content, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(default_storage, "save", disk_full)
    recording = fetch(completed)
    assert recording.status == FetchStatus.PENDING
    assert "OSError: [Errno 28] No space left on device" in recording.error
    assert recording.claimed_at is None


def partial_downloads(settings) -> list[str]:
    folder = settings.RECORDING_FETCH_DIR
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("outcome", ["stored", "graph error", "not wav", "storage error"])
def test_no_partial_download_is_left_whatever_becomes_of_the_fetch(
    completed, graph_http, settings, monkeypatch, outcome
):
    seen = []
    original = fetch_services.download_recording

    def download_and_look(*args, **kwargs):
        downloaded = original(*args, **kwargs)
        seen.extend(partial_downloads(settings))
        return downloaded

    monkeypatch.setattr(fetch_services, "download_recording", download_and_look)
    if outcome == "graph error":
        serve(graph_http, body=b"{}", status=500)
    else:
        serve(graph_http, body=b"RIFF-not-really" if outcome == "not wav" else AUDIO)
    if outcome == "storage error":

        def disk_full(name, content, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(default_storage, "save", disk_full)

    recording = fetch(completed)

    assert (recording.status == FetchStatus.STORED) == (outcome == "stored")
    if outcome != "graph error":
        # The download went to Recorder's own folder, named after its recording and claim.
        assert len(seen) == 1 and seen[0].startswith(f"recording-{recording.pk}-")
    assert partial_downloads(settings) == []


def test_the_download_deadline_is_its_own_setting_not_the_lease(
    completed, graph_http, settings, monkeypatch
):
    settings.RECORDING_FETCH_DEADLINE_SECONDS = 123
    settings.RECORDING_FETCH_LEASE_SECONDS = 30
    deadlines = []
    original = fetch_services.download_recording

    def download(*args, deadline, **kwargs):
        deadlines.append(deadline - time.monotonic())
        return original(*args, deadline=deadline, **kwargs)

    monkeypatch.setattr(fetch_services, "download_recording", download)
    serve(graph_http)
    fetch(completed)
    assert deadlines == [pytest.approx(123, abs=1)]


def claim(recording_pk: int, *, lease_left: float) -> datetime:
    claimed_at = timezone.now() - timedelta(seconds=60)
    Recording.objects.filter(pk=recording_pk).update(
        status=FetchStatus.FETCHING,
        claimed_at=claimed_at,
        lease_expires_at=timezone.now() + timedelta(seconds=lease_left),
        attempts=1,
    )
    return claimed_at


def test_a_renewed_lease_holds_however_old_the_claim_and_a_lapsed_one_is_handed_on(completed):
    pk = completed.recording.pk
    claimed_at = claim(pk, lease_left=-1)
    assert fetch_services.renew_lease(recording_pk=pk, claimed_at=claimed_at)
    ENQUEUED.clear()

    assert fetch_services.take_over_lapsed_fetches() == []
    assert fetch_services.fetch_recording(recording_pk=pk) is None
    assert enqueued() == []

    later = timezone.now() + timedelta(seconds=31)
    assert fetch_services.take_over_lapsed_fetches(now=later) == [pk]
    assert [r.args for r in enqueued()] == [[pk]]


def test_a_worker_whose_claim_was_taken_over_can_no_longer_renew_it(completed, graph_http):
    pk = completed.recording.pk
    first = claim(pk, lease_left=-1)
    serve(graph_http)
    assert fetch(completed).status == FetchStatus.STORED
    assert not fetch_services.renew_lease(recording_pk=pk, claimed_at=first)
    assert Recording.objects.get(pk=pk).attempts == 2


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_renews_its_lease_while_it_downloads(
    completed, graph_http, settings, monkeypatch
):
    settings.RECORDING_FETCH_LEASE_SECONDS = 0.6
    leases = []
    original = fetch_services.download_recording

    def slow_download(*args, **kwargs):
        # Download until the lease has been renewed three times, a lease's worth of
        # renewals: how long that takes is the machine's business, so the wait is generous.
        deadline = time.monotonic() + 15
        while len(set(leases)) < 4 and time.monotonic() < deadline:
            leases.append(Recording.objects.get(pk=completed.recording.pk).lease_expires_at)
            time.sleep(0.05)
        return original(*args, **kwargs)

    monkeypatch.setattr(fetch_services, "download_recording", slow_download)
    serve(graph_http)
    assert fetch(completed).status == FetchStatus.STORED
    assert len(set(leases)) >= 4, leases
    assert leases == sorted(leases)


def test_the_sweep_deletes_only_partial_downloads_whose_claim_has_ended(completed, settings):
    pk = completed.recording.pk
    live = claim(pk, lease_left=30)
    folder = settings.RECORDING_FETCH_DIR
    folder.mkdir(parents=True)
    holding = fetch_services._partial_path(pk, live)
    dead = fetch_services._partial_path(pk, live - timedelta(minutes=5))
    gone = fetch_services._partial_path(pk + 1000, live)
    other = folder / "notes.txt"
    for path in (holding, dead, gone, other):
        path.write_bytes(b"RIFF")

    assert sorted(fetch_services.sweep_partial_downloads()) == sorted([dead.name, gone.name])
    assert partial_downloads(settings) == sorted([holding.name, other.name])
