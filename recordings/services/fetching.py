"""Fetching the audio: a Recording row per completed operation, claimed and fetched once,
retried while a failure may pass. Every change of a recording's fetch status goes through
move_recording."""

import contextlib
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from recordings.audio import NotWav, inspect_wav, measure_waveform
from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import (
    DownloadRefused,
    GraphError,
    GraphSession,
    download_recording,
)
from recordings.models import FetchStatus, OperationStatus, Recording, RecordOperation
from recordings.services import enqueue, states

logger = logging.getLogger(__name__)

# Graph's answers that mean the link is dead for good: it has discarded the audio, or the
# token no longer opens it. Retrying cannot help.
LINK_GONE_STATUSES = frozenset({401, 403, 404, 410})


def move_recording(recordings: QuerySet, *, to: str, now: datetime, **changes) -> int:
    """Move the recordings in `recordings` to fetch status `to`, with `changes`; returns how
    many moved.

    One conditional UPDATE that matches only rows in a status `to` may be reached from
    (states.RECORDING_MOVES_FROM), besides whatever `recordings` narrows to (a claim, a
    lease, a hold), so of two workers at once only one moves a row.
    """
    allowed = states.RECORDING_MOVES_FROM[to]
    return recordings.filter(status__in=allowed).update(status=to, updated_at=now, **changes)


def expect_recording(operations: QuerySet) -> None:
    """An operation just completed: if it has a recording, make its (one) Recording row and
    fetch it once the transaction commits. Runs inside the caller's transaction, right after
    the conditional UPDATE that completed the operation: that UPDATE holds the operation's
    row lock, and only the one delivery that moved it gets here, so the insert cannot meet
    another and needs no savepoint of its own."""
    completed = operations.filter(status=OperationStatus.COMPLETED).exclude(recording_location="")
    for operation_pk in completed.values_list("pk", flat=True):
        _create_recording(operation_pk, savepoint=False)


def _create_recording(operation_pk: int, *, savepoint: bool = True) -> Recording | None:
    # The OneToOne is the idempotency key: a duplicate completion, or two at once, finds the
    # row there (or loses the insert) and enqueues nothing more. Without a savepoint a lost
    # insert fails the caller's whole transaction, loudly, rather than being skipped.
    try:
        with transaction.atomic(savepoint=savepoint):
            recording = Recording.objects.create(operation_id=operation_pk)
    except IntegrityError:
        if not savepoint:
            raise
        return None
    transaction.on_commit(lambda: enqueue.fetch_recording(recording.pk))
    return recording


def fetch_backoff(attempt: int) -> timedelta:
    """How long to wait after the `attempt`-th failed try: doubling, at most ten minutes."""
    base = settings.RECORDING_FETCH_BACKOFF_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempt - 1), 600.0))


def _claimable(now: datetime) -> Q:
    lease = timedelta(seconds=settings.RECORDING_FETCH_LEASE_SECONDS)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    # A claim older than its lease belongs to a worker that died: it may be taken over.
    return (Q(status=FetchStatus.PENDING) & due) | Q(
        status=FetchStatus.FETCHING, claimed_at__lt=now - lease
    )


def _held(recording_pk: int, claimed_at: datetime) -> QuerySet:
    """The recording while the claim made at `claimed_at` still holds it."""
    return Recording.objects.filter(
        pk=recording_pk, status=FetchStatus.FETCHING, claimed_at=claimed_at
    )


def fetch_recording(*, recording_pk: int, session: GraphSession | None = None) -> Recording | None:
    """Fetch an operation's audio from Graph into storage, once.

    The worker first claims the row with one conditional UPDATE (pending, or fetching with
    an expired lease, to fetching), so of two workers, or a task run twice, only one
    downloads. The claim's time is its fencing token: the file is kept only if the same
    claim still holds when it is recorded, otherwise the file is deleted again, so two
    files can never both be kept. Returns the row when this call claimed it, else None.
    """
    claimed_at = timezone.now()
    claimed = move_recording(
        Recording.objects.filter(pk=recording_pk).filter(_claimable(claimed_at)),
        to=FetchStatus.FETCHING,
        now=claimed_at,
        claimed_at=claimed_at,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    recording = Recording.objects.select_related("operation__call").get(pk=recording_pk)
    operation = recording.operation
    # Stop well inside the lease, so no other worker can take over while this one writes.
    deadline = time.monotonic() + settings.RECORDING_FETCH_LEASE_SECONDS * 0.8
    temporary = TemporaryUploadedFile(
        name=f"{operation.graph_id}.wav", content_type="audio/wav", size=None, charset=None
    )
    try:
        try:
            downloaded = download_recording(
                operation.recording_location,
                token=operation.recording_access_token,
                sink=temporary,
                allowed_hosts=settings.RECORDING_DOWNLOAD_HOSTS,
                loopback_prefix=settings.GRAPH_EMULATOR_RECORDINGS_URL,
                max_bytes=settings.RECORDING_MAX_BYTES,
                timeout=settings.RECORDING_FETCH_TIMEOUT,
                deadline=deadline,
                session=session,
                log=DatabaseExchangeLog(call=operation.call, operation=operation),
            )
            temporary.flush()
            temporary.seek(0)
            info = inspect_wav(temporary)
            waveform = measure_waveform(temporary)
            temporary.size = downloaded.size
            name = default_storage.save(
                recording.file.field.generate_filename(recording, f"{operation.graph_id}.wav"),
                temporary,
            )
        except (GraphError, NotWav) as err:
            return _fetch_failed(recording, claimed_at, err)
        except Exception as err:
            # The storage (a full disk, an object store that is down) or a surprise: the row
            # says so and the fetch is retried, rather than sitting claimed until its lease ends.
            logger.exception("Recording %s: fetch failed unexpectedly", recording.pk)
            return _fetch_failed(recording, claimed_at, err)
    finally:
        with contextlib.suppress(FileNotFoundError):
            # Gone already when the storage moved it into place.
            temporary.close()

    now = timezone.now()
    kept = move_recording(
        _held(recording.pk, claimed_at),
        to=FetchStatus.STORED,
        now=now,
        file=name,
        size_bytes=downloaded.size,
        sha256=downloaded.sha256,
        duration_seconds=info.duration_seconds,
        sample_rate=info.sample_rate,
        channels=info.channels,
        sample_width_bytes=info.sample_width_bytes,
        waveform_svg=waveform.svg,
        peak_dbfs=waveform.peak_dbfs,
        rms_dbfs=waveform.rms_dbfs,
        error="",
        claimed_at=None,
        next_attempt_at=None,
        stored_at=now,
    )
    if not kept:
        # Another worker took the claim over (this one outlived its lease): its copy wins.
        default_storage.delete(name)
        logger.warning("Recording %s: claim lost while storing; dropped %s", recording.pk, name)
        return None
    recording.refresh_from_db()
    logger.info(
        "Stored the recording of operation %s: %s, %s bytes, sha256 %s",
        operation.graph_id,
        name,
        downloaded.size,
        downloaded.sha256,
    )
    return recording


def _fetch_failed(recording: Recording, claimed_at: datetime, err: Exception) -> Recording:
    """Leave on the row what went wrong and what happens next; retry a passing failure."""
    now = timezone.now()
    status = getattr(err, "status", None)
    attempt = recording.attempts
    # Graph's errors read as sentences already; anything else is named by its type.
    reason = err if isinstance(err, GraphError | NotWav) else f"{type(err).__name__}: {err}"
    changes: dict = {"claimed_at": None}
    retry_at = None
    if isinstance(err, NotWav):
        to = FetchStatus.FAILED
        changes |= {
            "next_attempt_at": None,
            "error": f"Graph's file is not a WAV recording: {err} Nothing was kept.",
        }
    elif status in LINK_GONE_STATUSES:
        to = FetchStatus.FAILED
        changes |= {
            "next_attempt_at": None,
            "link_expired_at": now,
            "error": (
                f"The link expired or was refused (Graph answered {err}): Graph no longer "
                "gives out this recording, and it can't be fetched again."
            ),
        }
    elif isinstance(err, DownloadRefused) or (
        status is not None and 400 <= status < 500 and status != 429
    ):
        to = FetchStatus.FAILED
        changes |= {
            "next_attempt_at": None,
            "error": f"Not fetched: {getattr(err, 'operator_message', err)}",
        }
    elif attempt < settings.RECORDING_FETCH_MAX_ATTEMPTS:
        retry_at = now + fetch_backoff(attempt)
        to = FetchStatus.PENDING
        changes |= {
            "next_attempt_at": retry_at,
            "error": (
                f"Attempt {attempt} of {settings.RECORDING_FETCH_MAX_ATTEMPTS} failed ({reason}); "
                f"trying again at {retry_at:%H:%M:%S} UTC."
            ),
        }
    else:
        # The periodic reconcile tries once more from then on, while the link may live.
        to = FetchStatus.FAILED
        changes |= {
            "next_attempt_at": now + fetch_backoff(attempt),
            "error": (
                f"Gave up after {attempt} attempts ({reason}); Recorder tries again now and then "
                f"for {settings.RECORDING_FETCH_RETRY_HOURS:g} hours after the recording ended."
            ),
        }
    updated = move_recording(_held(recording.pk, claimed_at), to=to, now=now, **changes)
    recording.refresh_from_db()
    if updated:
        logger.warning(
            "Recording %s of %s: %s", recording.pk, recording.operation, changes["error"]
        )
        if retry_at is not None:
            transaction.on_commit(lambda: enqueue.fetch_recording(recording.pk, run_after=retry_at))
    return recording


def retry_recording_fetches(*, now: datetime | None = None) -> list[int]:
    """Give every fetch that should be under way a task: the periodic reconcile's half.

    - pending and due (its deferred task was lost, or the backend can't defer);
    - fetching under an expired lease (its worker died);
    - failed for a passing reason, due again, and recent enough that Graph may still keep
      the audio (never a link Graph refused, nor a file Recorder refused);
    - completed operations with a recording and no row yet (completed before Recorder
      fetched audio, or the row's transaction was lost).
    Returns the recordings enqueued.
    """
    now = now or timezone.now()
    window = now - timedelta(hours=settings.RECORDING_FETCH_RETRY_HOURS)
    for operation_pk in (
        RecordOperation.objects.filter(
            status=OperationStatus.COMPLETED, finished_at__gte=window, recording__isnull=True
        )
        .exclude(recording_location="")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            _create_recording(operation_pk)
    revived = Recording.objects.filter(
        status=FetchStatus.FAILED,
        link_expired_at__isnull=True,
        next_attempt_at__lte=now,
        operation__finished_at__gte=window,
    ).values_list("pk", flat=True)
    for recording_pk in list(revived):
        move_recording(
            Recording.objects.filter(pk=recording_pk, status=FetchStatus.FAILED),
            to=FetchStatus.PENDING,
            now=now,
            next_attempt_at=now,
        )
    due = list(Recording.objects.filter(_claimable(now)).values_list("pk", flat=True))
    for recording_pk in due:
        enqueue.fetch_recording(recording_pk)
    return due
