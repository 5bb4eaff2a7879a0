"""Group commit: work that threads hand in at the same moment, done in one transaction.

Under a burst of Graph's notifications, each request's own transaction cost it a BEGIN and
a COMMIT (and on SQLite a hand-over of the one write lock) for four writes. Here the thread
that finds no batch running leads one: it takes whatever the other threads of its process
have queued by then (its own work first), runs it all in one transaction on its connection,
wakes them, and hands the lead to the next thread waiting, if any, so no thread leads for
long. Alone, a thread's batch is its own work: nothing waits for company.

Each piece of work must be safe to run again: when the shared transaction fails (one
piece raised, or the database refused the commit), nothing of it was kept, and `run`
raises BatchFailed in every thread of the batch, so that each runs its own work again on
its own (where its failure, if it has one, is its alone).

Called inside a transaction already, work runs there, in a savepoint of its own: joining it
to other threads' work would make their commit hang on the caller's.

One batch at a time per process, even on PostgreSQL, where batches could run side by side
on several connections: bench/webhook.py measured that slower (the web process is short of
CPU before the database is short of connections).
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

logger = logging.getLogger(__name__)


class BatchFailed(Exception):
    """The transaction this work shared failed: nothing of it was kept."""


class _Job:
    __slots__ = ("_asleep", "failed", "finished", "result", "work")

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work = work
        # Held from the start: wait() blocks on it until wake() lets it go. A bare lock, not
        # a threading.Event: an Event's Condition costs twice the CPU per hand-over.
        self._asleep = threading.Lock()
        self._asleep.acquire()
        self.finished = False
        self.result = None
        self.failed = False

    def wait(self) -> None:
        self._asleep.acquire()

    def wake(self) -> None:
        # A job is woken at most twice, and a second time only after it has waited again:
        # once to lead the next batch, once when the batch it is in is done.
        self._asleep.release()


class GroupCommit:
    def __init__(self, *, limit: int = 32) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._leading = False

    def run(self, work: Callable[[], Any]) -> Any:
        """`work()` inside a transaction, shared with the work other threads handed in at
        the same moment; its result once that transaction has committed."""
        if connection.in_atomic_block:
            # A savepoint of its own, so that a failure undoes this work and no more.
            with transaction.atomic():
                return work()
        job = _Job(work)
        with self._lock:
            self._queue.append(job)
            leads = not self._leading
            self._leading = True
        if not leads:
            job.wait()  # the batch it was in is done, or it leads the next one
        if not job.finished:
            self._lead()
        if job.failed:
            raise BatchFailed()
        return job.result

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[: self.limit]  # this thread's own job is first
            del self._queue[: self.limit]
        committed = False
        try:
            with transaction.atomic():
                for job in batch:
                    job.result = job.work()
            committed = True
        except Exception as err:
            # Each runs again on its own, where its error (if it has one) is its alone.
            logger.info("A transaction shared by %d failed (%r): each runs alone", len(batch), err)
        finally:
            for job in batch:
                job.failed = not committed
            with self._lock:
                if self._queue:
                    self._queue[0].wake()  # the next batch is its to lead
                else:
                    self._leading = False
            for job in batch:
                job.finished = True
                job.wake()
