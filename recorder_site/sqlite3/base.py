"""SQLite as Django's own backend, with its writers queued for the write lock, not asleep.

SQLite lets one connection write at a time. A writer that finds the lock taken sleeps in
SQLite's busy handler, in steps of up to 100 ms, and tries again: under a burst of Graph's
notifications most of a request's time went in sleeping while the lock was already free
(a p99 near a second, bench/webhook.py).

Here a write transaction (settings make each one `BEGIN IMMEDIATE`) first takes two locks,
and gives both back when it ends:

- its process's lock for the database, so the threads of one process queue in the kernel
  and each is woken the moment the one before it is done;
- then a lock on a file beside the database (`<name>-writer`, flock), shared by every process
  that writes it: web workers, task workers, the scheduler. Only one thread of a process
  waits for it at a time; it tries again every millisecond at most. A process that dies
  drops the lock with its descriptor.

Both waits end at the database's timeout with SQLite's own error, "database is locked".

Its cursors turn Django's `%s` placeholders into sqlite3's `?` once per statement text, not
on every run: Django's cursor does it with a regular expression over the whole statement
each time, four times per notification for the same four texts.
"""

import fcntl
import functools
import os
import threading
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_process_locks: dict[str, threading.Lock] = {}
_lock_files: dict[tuple[int, str], int] = {}
_guard = threading.Lock()

# How long the one waiting thread of a process sleeps between tries of the shared lock:
# from 50 µs, doubling, to 1 ms.
FIRST_PAUSE = 0.00005
LONGEST_PAUSE = 0.001


def process_lock(name: str) -> threading.Lock:
    """This process's one write lock for the database file `name`."""
    with _guard:
        return _process_locks.setdefault(name, threading.Lock())


def lock_file(name: str) -> int:
    """This process's descriptor of the lock file beside the database `name`.

    Opened by each process for itself (a descriptor inherited across fork would share its
    lock with the parent's)."""
    key = (os.getpid(), name)
    with _guard:
        if key not in _lock_files:
            _lock_files[key] = os.open(f"{name}-writer", os.O_RDWR | os.O_CREAT, 0o600)
        return _lock_files[key]


@functools.lru_cache(maxsize=1024)
def _qmark(query: str) -> str:
    """Django's conversion from "format" to "qmark" style (SQLiteCursorWrapper's), kept."""
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class CursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query, *, param_names=None):
        if param_names is not None:  # "pyformat", as Django's
            return super().convert_query(query, param_names=param_names)
        return _qmark(query)


class DatabaseWrapper(base.DatabaseWrapper):
    # The process lock and the lock file's descriptor this connection holds, while it does.
    _write_lock: tuple[threading.Lock, int] | None = None

    def _start_transaction_under_autocommit(self):
        if not self.is_in_memory_db():
            self._take_write_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _take_write_lock(self) -> None:
        name = str(self.settings_dict["NAME"])
        deadline = time.monotonic() + self.settings_dict.get("OPTIONS", {}).get("timeout", 5)
        lock = process_lock(name)
        if not lock.acquire(timeout=max(deadline - time.monotonic(), 0)):
            raise OperationalError("database is locked")
        try:
            descriptor = lock_file(name)
            pause = FIRST_PAUSE
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise OperationalError("database is locked") from None
                    time.sleep(pause)
                    pause = min(pause * 2, LONGEST_PAUSE)
        except BaseException:
            lock.release()
            raise
        self._write_lock = (lock, descriptor)

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=CursorWrapper)

    def _release_write_lock(self) -> None:
        if self._write_lock is not None:
            (lock, descriptor), self._write_lock = self._write_lock, None
            try:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
            finally:
                lock.release()

    def _commit(self):
        super()._commit()
        self._release_write_lock()

    def _rollback(self):
        try:
            super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            super()._close()
        finally:
            self._release_write_lock()
