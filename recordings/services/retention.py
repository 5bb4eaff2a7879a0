"""Letting audio go: purging past RECORDING_RETENTION_DAYS, and the legal hold that stops it."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import timezone

from recordings.models import FetchStatus, Recording, RecordOperation
from recordings.services import fetching as fetch_services

logger = logging.getLogger(__name__)


def purge_expired_recordings(
    *, now: datetime | None = None, days: int | None = None, dry_run: bool = False
) -> list[Recording]:
    """Delete the audio stored more than `days` (RECORDING_RETENTION_DAYS) ago; the row stays,
    marked purged. Operations on legal hold are skipped. Every purge is logged."""
    now = now or timezone.now()
    days = settings.RECORDING_RETENTION_DAYS if days is None else days
    cutoff = now - timedelta(days=days)
    expired = Recording.objects.filter(
        status=FetchStatus.STORED, stored_at__lt=cutoff, operation__legal_hold=False
    ).select_related("operation")
    purged = []
    for recording in expired:
        if dry_run:
            purged.append(recording)
            continue
        name = recording.file.name
        # The row first, re-checking the hold: an operator may set it this very moment. A
        # crash between the two leaves a file no row points to, never a row without its file.
        marked = fetch_services.move_recording(
            Recording.objects.filter(pk=recording.pk, operation__legal_hold=False),
            to=FetchStatus.PURGED,
            now=now,
            purged_at=now,
            file="",
        )
        if not marked:
            continue
        if name:
            default_storage.delete(name)
        logger.info(
            "Purged the recording of operation %s (%s, stored %s, retention %s days)",
            recording.operation.graph_id,
            name,
            recording.stored_at.isoformat(),
            days,
        )
        recording.refresh_from_db()
        purged.append(recording)
    return purged


def set_legal_hold(*, operations: QuerySet, on: bool, by: AbstractBaseUser) -> int:
    """Put `operations` on legal hold (or release them); one admin log entry, by `by`, per
    operation that changed. Returns how many changed."""
    # Only what the log entries need (the id and the text of the row), not whole rows.
    changing = list(
        operations.exclude(legal_hold=on).order_by().select_related(None).only("pk", "graph_id")
    )
    if not changing:
        return 0
    RecordOperation.objects.filter(pk__in=[op.pk for op in changing]).update(
        legal_hold=on, updated_at=timezone.now()
    )
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=changing,
        action_flag=CHANGE,
        change_message="Put on legal hold." if on else "Released from legal hold.",
    )
    return len(changing)
