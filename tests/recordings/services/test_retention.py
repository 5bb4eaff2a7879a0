"""Letting go: audio past RECORDING_RETENTION_DAYS is deleted, the row kept and marked
purged, operations on legal hold skipped, every purge logged."""

import io
import logging
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from recordings.models import FetchStatus, Recording, RecordOperation
from recordings.services import fetching as fetch_services
from recordings.services import operations as operation_services
from recordings.services import retention as retention_services


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_RETENTION_DAYS = 30


@pytest.fixture
def stored(make_operation):
    def make(graph_id: str, *, days_ago: float, legal_hold: bool = False) -> Recording:
        operation = make_operation(graph_id=graph_id, status="completed", legal_hold=legal_hold)
        recording = Recording(operation=operation, status=FetchStatus.STORED, size_bytes=4)
        recording.file.save(f"{graph_id}.wav", ContentFile(b"RIFF"), save=False)
        recording.stored_at = timezone.now() - timedelta(days=days_ago)
        recording.save()
        return recording

    return make


def test_it_purges_audio_past_retention_and_keeps_the_row(stored, settings, caplog):
    old = stored("old", days_ago=31)
    fresh = stored("fresh", days_ago=29)
    path = old.file.path
    with caplog.at_level(logging.INFO, logger="recordings.services"):
        purged = retention_services.purge_expired_recordings()

    assert [r.pk for r in purged] == [old.pk]
    old.refresh_from_db()
    assert old.status == FetchStatus.PURGED
    assert old.purged_at is not None
    assert not old.file
    assert old.sha256 == "" and old.size_bytes == 4  # the facts stay
    assert not (settings.MEDIA_ROOT / path).exists()
    fresh.refresh_from_db()
    assert fresh.status == FetchStatus.STORED
    assert "Purged the recording of operation old" in caplog.text


def test_it_skips_operations_on_legal_hold(stored):
    held = stored("held", days_ago=400, legal_hold=True)
    assert retention_services.purge_expired_recordings() == []
    held.refresh_from_db()
    assert held.status == FetchStatus.STORED
    assert held.file.storage.exists(held.file.name)


def test_a_legal_hold_changes_only_the_operations_that_differ_and_logs_each(
    make_operation, django_user_model
):
    clerk = django_user_model.objects.create_user("clerk")
    make_operation(graph_id="held", legal_hold=True)
    free = make_operation(graph_id="free")
    changed = retention_services.set_legal_hold(
        operations=RecordOperation.objects.all(), on=True, by=clerk
    )
    assert changed == 1
    assert set(RecordOperation.objects.values_list("legal_hold", flat=True)) == {True}
    (entry,) = LogEntry.objects.all()
    assert (entry.object_id, entry.user, entry.change_message) == (
        str(free.pk),
        clerk,
        "Put on legal hold.",
    )


def test_the_command_purges_and_reports(stored):
    stored("old", days_ago=10)
    out = io.StringIO()
    call_command("purge_recordings", "--days", "7", "--dry-run", stdout=out)
    assert "1 recording(s) would be purged" in out.getvalue()
    assert Recording.objects.get().status == FetchStatus.STORED

    call_command("purge_recordings", "--days", "7", stdout=out)
    assert "1 recording(s) purged" in out.getvalue()
    assert Recording.objects.get().status == FetchStatus.PURGED


def test_the_periodic_tasks_are_scheduled():
    from crontask import scheduler

    from recordings import tasks

    jobs = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert jobs[tasks.reconcile_task.name].endswith("minute='*/5']")
    assert "hour='3'" in jobs[tasks.purge_recordings_task.name]
    assert jobs[tasks.take_over_lapsed_fetches_task.name].endswith("minute='*']")


def test_the_reconcile_task_closes_abandoned_operations_and_retries_fetches(monkeypatch):
    from recordings import tasks

    monkeypatch.setattr(operation_services, "close_abandoned_operations", lambda: ["closed"])
    monkeypatch.setattr(fetch_services, "retry_recording_fetches", lambda: [1, 2])
    assert tasks.reconcile_task.call() == {"closed": 1, "fetches_enqueued": 2}
