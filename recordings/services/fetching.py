"""Fetching the audio: a Recording row per completed operation, claimed and fetched once,
retried while a failure may pass. Every change of a recording's fetch status goes through
move_recording."""

import logging
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.signals import post_save, pre_save
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
from recordings.prepared import PreparedInsert, PreparedUpdate, statement_cursor
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


def expect_recording(*, operation_pk: int, recording_location: str) -> None:
    """An operation just completed: if it has a recording, make its (one) Recording row and
    fetch it once the transaction commits. Runs inside the caller's transaction, right after
    the conditional UPDATE that completed the operation (and returned its location): that
    UPDATE holds the operation's row lock, and only the one delivery that moved it gets here,
    so the insert cannot meet another and needs no savepoint of its own."""
    if recording_location:
        _create_recording(operation_pk, savepoint=False)


# One for every completed operation: the INSERT is compiled once (recordings/prepared.py).
_NEW_RECORDING = PreparedInsert(Recording)


def complete_expecting_recording(
    move: PreparedUpdate, changes: dict, *, shape: tuple, args: tuple
) -> list[tuple] | None:
    """`move.run(changes, ...)`, the completion of one operation (at most one: `move` finds it
    by a unique key) returning its id and recording location, and what expect_recording()
    then does, all in one statement: the Recording row when there is a location, and its
    fetch queued as a row of the database task backend. Returns what `move` returned; None
    where it can't be one statement, and the caller moves and expects one by one.

    On PostgreSQL, a data-modifying WITH: the UPDATE, an INSERT ... SELECT of the Recording
    from the row it returned, an INSERT ... SELECT of the task row from the Recording's.
    The rows are the ones the three statements make (tests/recordings/services/
    test_fetching_completion.py holds them side by side), in one round trip and one
    statement for PostgreSQL to run where there were three: 15 to 29% less of the
    database's CPU per notification in alternating runs (README, Benchmarks). As
    with expect_recording, a second Recording for the operation is refused loudly, by the
    same unique key, and no receiver misses a save: with one listening to the Recording's,
    this is None.
    """
    if (
        connection.vendor != "postgresql"
        or pre_save.has_listeners(Recording)
        or post_save.has_listeners(Recording)
    ):
        return None
    moving = move.bind(changes, shape=shape, args=args)
    if moving is None or move.returning != ("id", "recording_location"):
        return None
    recording = _NEW_RECORDING.insert_select(
        {}, source="moved WHERE moved.recording_location <> ''", taken={"operation_id": "moved.id"}
    )
    if recording is None:
        return None
    task = enqueue.fetch_recording_from(source="recording", recording_pk="recording.id")
    if task is None:
        return None
    move_sql, move_params = moving
    recording_sql, recording_params, _ = recording
    task_sql, task_params, queued = task
    # Statements compiled from the models; every value in them is bound.
    sql = (
        f"WITH moved AS ({move_sql}), recording AS ({recording_sql}), task AS ({task_sql}) "  # noqa: S608
        "SELECT moved.id, moved.recording_location, recording.id "
        "FROM moved LEFT JOIN recording ON true"
    )
    with statement_cursor(connection) as cursor:
        cursor.execute(sql, [*move_params, *recording_params, *task_params])
        rows = cursor.fetchall()
    for _, _, recording_pk in rows:
        if recording_pk is not None:
            queued(recording_pk)
    return [(operation_pk, location) for operation_pk, location, _ in rows]


def _create_recording(operation_pk: int, *, savepoint: bool = True) -> Recording | None:
    # The OneToOne is the idempotency key: a duplicate completion, or two at once, finds the
    # row there (or loses the insert) and enqueues nothing more. Without a savepoint a lost
    # insert fails the caller's whole transaction, loudly, rather than being skipped.
    try:
        with transaction.atomic(savepoint=savepoint):
            recording = _NEW_RECORDING.create(operation_id=operation_pk)
    except IntegrityError:
        if not savepoint:
            raise
        return None
    enqueue.fetch_recording_on_commit(recording.pk)
    return recording


def fetch_backoff(attempt: int) -> timedelta:
    """How long to wait after the `attempt`-th failed try: doubling, at most ten minutes."""
    base = settings.RECORDING_FETCH_BACKOFF_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempt - 1), 600.0))


def _claimable(now: datetime) -> Q:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return (Q(status=FetchStatus.PENDING) & due) | _lapsed(now)


def _lapsed(now: datetime) -> Q:
    """Claims whose lease ran out: their worker died (a live one renews it), so they may be
    taken over. A claim from before leases were renewed has none, and lapses by its age."""
    lease = timedelta(seconds=settings.RECORDING_FETCH_LEASE_SECONDS)
    return Q(status=FetchStatus.FETCHING) & (
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True, claimed_at__lt=now - lease)
    )


def renew_lease(*, recording_pk: int, claimed_at: datetime, now: datetime | None = None) -> bool:
    """Extend the lease of the claim made at `claimed_at`, while it still holds the row;
    False when it no longer does (another worker took it over, or it ended)."""
    now = now or timezone.now()
    expires = now + timedelta(seconds=settings.RECORDING_FETCH_LEASE_SECONDS)
    return bool(_held(recording_pk, claimed_at).update(lease_expires_at=expires))


class _LeaseKeeper(threading.Thread):
    """Renews a claim's lease every third of it while its worker downloads and stores, so
    the lease can be short: a worker that dies stops renewing, and its claim lapses soon."""

    def __init__(self, recording_pk: int, claimed_at: datetime) -> None:
        super().__init__(name=f"lease-{recording_pk}", daemon=True)
        self.recording_pk = recording_pk
        self.claimed_at = claimed_at
        self._stopped = threading.Event()

    def run(self) -> None:
        every = settings.RECORDING_FETCH_LEASE_SECONDS / 3
        try:
            while not self._stopped.wait(every):
                try:
                    held = renew_lease(recording_pk=self.recording_pk, claimed_at=self.claimed_at)
                except Exception:
                    # A passing database fault: the next renewal may get through in time.
                    logger.exception("Recording %s: could not renew the lease", self.recording_pk)
                    continue
                if not held:
                    # Taken over (storing then keeps nothing, and says so), or just ended.
                    logger.info(
                        "Recording %s: the claim no longer holds; its lease is not renewed",
                        self.recording_pk,
                    )
                    return
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopped.set()
        # Not for ever: a renewal stuck on the database must not hold up the worker.
        self.join(timeout=5)


# A partial download's name: the recording and its claim, so a sweep can tell whether the
# claim that wrote it still holds the row.
_PARTIAL_NAME = re.compile(r"^recording-(\d+)-(\d+)\.part$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _partial_path(recording_pk: int, claimed_at: datetime) -> Path:
    micros = (claimed_at - _EPOCH) // timedelta(microseconds=1)
    return Path(settings.RECORDING_FETCH_DIR) / f"recording-{recording_pk}-{micros}.part"


class _PartialFile(File):
    """A download in RECORDING_FETCH_DIR. Local storage moves it into place by its path (as
    it would an upload's temporary file); any other storage copies it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path.open("w+b"), name=path.name)
        self.path = path

    def temporary_file_path(self) -> str:
        return str(self.path)

    def discard(self) -> None:
        self.close()
        # Gone already when the storage moved it into place.
        self.path.unlink(missing_ok=True)


def sweep_partial_downloads() -> list[str]:
    """Delete the partial downloads whose claim no longer holds its recording: left behind
    by a worker that was killed (its finally never ran). A live download's claim holds its
    row, so it is never touched. Returns the names deleted."""
    folder = Path(settings.RECORDING_FETCH_DIR)
    if not folder.is_dir():
        return []
    deleted = []
    for path in folder.iterdir():
        match = _PARTIAL_NAME.match(path.name)
        if match is None:
            continue  # not a download of Recorder's
        recording_pk = int(match.group(1))
        claimed_at = _EPOCH + timedelta(microseconds=int(match.group(2)))
        if _held(recording_pk, claimed_at).exists():
            continue
        path.unlink(missing_ok=True)
        deleted.append(path.name)
        logger.info("Deleted the partial download %s: its fetch ended with its worker", path)
    return deleted


def take_over_lapsed_fetches(*, now: datetime | None = None) -> list[int]:
    """The minute sweep: give every claim whose lease ran out a task, so another worker
    takes it over while Graph still keeps the audio, and delete what killed workers left
    on disk. Returns the recordings enqueued."""
    lapsed = list(
        Recording.objects.filter(_lapsed(now or timezone.now())).values_list("pk", flat=True)
    )
    for recording_pk in lapsed:
        logger.warning(
            "Recording %s: its worker's lease ran out; handing the fetch on", recording_pk
        )
        enqueue.fetch_recording(recording_pk)
    sweep_partial_downloads()
    return lapsed


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
        lease_expires_at=claimed_at + timedelta(seconds=settings.RECORDING_FETCH_LEASE_SECONDS),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    keeper = _LeaseKeeper(recording_pk, claimed_at)
    keeper.start()
    try:
        return _fetch_claimed(recording_pk, claimed_at, session=session)
    finally:
        keeper.stop()


def _fetch_claimed(
    recording_pk: int, claimed_at: datetime, *, session: GraphSession | None
) -> Recording | None:
    recording = Recording.objects.select_related("operation__call").get(pk=recording_pk)
    operation = recording.operation
    # The lease is renewed meanwhile; the deadline stops a host that drips forever.
    deadline = time.monotonic() + settings.RECORDING_FETCH_DEADLINE_SECONDS
    temporary = _PartialFile(_partial_path(recording_pk, claimed_at))
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
        temporary.discard()

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
        lease_expires_at=None,
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
    changes: dict = {"claimed_at": None, "lease_expires_at": None}
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
