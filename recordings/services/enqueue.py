"""The services' one door to background work: every task a service hands off goes through here.

`recordings.tasks` holds the tasks, each a thin call into a service, so it imports the
services. The services therefore never import it: this module names each task by its import
path, the same name the task backends store and the workers import it by, and looks it up
only when enqueueing (importing recordings.tasks then, if nothing has yet), never while the
services themselves load.
"""

from datetime import datetime

from django.db import transaction
from django.tasks import Task
from django.utils.module_loading import import_string
from django_tasks_db import DatabaseBackend

from recordings import task_backend

TASKS_MODULE = "recordings.tasks"


def answer_call(call_pk: int) -> None:
    _task("answer_call_task").enqueue(call_pk)


def close_abandoned_operations(*, run_after: datetime) -> None:
    """Close what Graph will never finish, at `run_after`, or now if the backend can't wait."""
    task = _task("close_abandoned_operations_task")
    if task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    task.enqueue()


def fetch_recording(recording_pk: int, *, run_after: datetime | None = None) -> None:
    """Fetch the recording now, or at `run_after`; on a backend that can't wait, not at all:
    the periodic reconcile enqueues it once run_after has passed."""
    task = _task("fetch_recording_task")
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return
        task = task.using(run_after=run_after)
    task.enqueue(recording_pk)


def fetch_recording_on_commit(recording_pk: int) -> None:
    """Fetch the recording once the caller's transaction commits.

    The database backend's task is a row in the same database: it is inserted in the caller's
    transaction, so it commits with the work that called for it, in the same commit, or not
    at all (no second transaction per notification, and no commit whose task is lost because
    the process died just after it). Any other backend is told only after the commit, so its
    worker can never look for a row that is not there yet.
    """
    if isinstance(_task("fetch_recording_task").get_backend(), DatabaseBackend):
        fetch_recording(recording_pk)
    else:
        transaction.on_commit(lambda: fetch_recording(recording_pk))


def fetch_recording_from(*, source: str, recording_pk: str) -> tuple | None:
    """fetch_recording() folded into the caller's statement, the recording's pk being the SQL
    expression `recording_pk` over the row of `source` (what follows FROM): the task row's
    INSERT ... SELECT, its parameters, and what to call with the pk once the statement has
    run (recordings/task_backend.py, DatabaseBackend.enqueue_from). It commits with the
    caller's transaction, as fetch_recording_on_commit() has it. None when the fetch can't be
    queued that way (another backend), and the caller enqueues as usual."""
    task = _task("fetch_recording_task")
    backend = task.get_backend()
    if not isinstance(backend, task_backend.DatabaseBackend):
        return None
    return backend.enqueue_from(task, source=source, arg=recording_pk)


def _task(name: str) -> Task:
    return import_string(f"{TASKS_MODULE}.{name}")
