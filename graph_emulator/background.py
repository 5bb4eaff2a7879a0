"""Timed work on daemon threads in the serving process.

Every thread closes the database connections it opened. The threads are tracked so tests can
wait for the emulator to fall idle before the database is flushed under them.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.db import connections, transaction

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_threads: set[threading.Thread] = set()


_watchers: set[threading.Thread] = set()


def spawn(
    fn: Callable[..., object], *args: object, name: str, watcher: bool = False
) -> threading.Thread:
    """Run `fn` on a daemon thread. A `watcher` lives as long as what it watches (a call):
    `wait_idle()` does not wait for it; `stop_watchers()` ends it."""
    tracked = _watchers if watcher else _threads

    def run() -> None:
        try:
            fn(*args)
        except Exception:
            logger.exception("Graph emulator background work %s failed", name)
        finally:
            connections.close_all()
            with _lock:
                tracked.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=f"graph-emulator-{name}", daemon=True)
    with _lock:
        tracked.add(thread)
    thread.start()
    return thread


def spawn_on_commit(
    fn: Callable[..., object], *args: object, name: str, watcher: bool = False
) -> None:
    # The thread reads rows this request wrote: start it only once they are visible.
    transaction.on_commit(lambda: spawn(fn, *args, name=name, watcher=watcher))


def wait_idle(timeout: float = 10.0, *, watchers: bool = False) -> bool:
    """Wait until no emulator thread runs (threads may start others), and with `watchers`
    no watcher either. True when idle."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            alive = [t for t in (*_threads, *(_watchers if watchers else ())) if t.is_alive()]
        if not alive:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        alive[0].join(min(remaining, 0.5))


# Wakes a runner waiting in this process as soon as its operation is settled elsewhere
# (cancel, hang-up); runners in other processes notice by polling the database.
_wakeups: dict[str, threading.Event] = {}


def wakeup_event(key: str) -> threading.Event:
    with _lock:
        return _wakeups.setdefault(key, threading.Event())


def wake(key: str) -> None:
    with _lock:
        event = _wakeups.get(key)
    if event is not None:
        event.set()


def forget_wakeup(key: str) -> None:
    with _lock:
        _wakeups.pop(key, None)


# Watchers (threads that outlive any one request, like a call's keepAlive watch) sleep on this,
# so tests can end them all before the database is flushed.
_stopping = threading.Event()


def sleep_unless_stopped(seconds: float) -> bool:
    """Sleep up to `seconds`; True if the watchers are being stopped."""
    return _stopping.wait(max(seconds, 0.0))


def stop_watchers() -> None:
    _stopping.set()


def resume_watchers() -> None:
    _stopping.clear()
