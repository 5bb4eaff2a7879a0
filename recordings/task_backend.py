"""django-tasks-db's backend, with its task row inserted by a statement compiled once.

Each completed recording enqueues its fetch, inside the notification's transaction. The
backend's own `DBTaskResult.objects.create()` had Django rebuild the INSERT every time, most
of what enqueueing cost; this one makes the same row, with the same values, through a
PreparedInsert (recordings/prepared.py), and the result it returns is built from the task
in hand rather than imported again by its path. Everything else is the library's.
"""

from django.utils.functional import cached_property
from django_tasks_db import DatabaseBackend as LibraryDatabaseBackend
from django_tasks_db.backend import TaskResult
from django_tasks_db.compat import TaskResultStatus, normalize_json, task_enqueued
from django_tasks_db.utils import normalize_uuid

from recordings.prepared import PreparedInsert


class DatabaseBackend(LibraryDatabaseBackend):
    @cached_property
    def _new_task_row(self) -> PreparedInsert:
        from django_tasks_db.models import DBTaskResult

        return PreparedInsert(DBTaskResult)

    def enqueue(self, task, args, kwargs):
        # The library's method, building the result it announces and returns once, not twice,
        # and from the task in hand: the row's own `task_result` imports the task again by
        # its path and copies it with the row's options, which are this task's.
        self.validate_task(task)
        row = self._task_to_db_task(task, args, kwargs)
        result = TaskResult(
            db_result=row,
            task=task,
            id=normalize_uuid(row.id),
            status=TaskResultStatus[row.status],
            enqueued_at=row.enqueued_at,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=row.args_kwargs["args"],
            kwargs=row.args_kwargs["kwargs"],
            backend=row.backend_name,
            errors=[],
            worker_ids=row.worker_ids,
        )
        object.__setattr__(result, "_return_value", row.return_value)
        task_enqueued.send(type(self), task_result=result)
        return result

    def _task_to_db_task(self, task, args, kwargs):
        # The library's method, with `.objects.create` swapped for the prepared statement.
        return self._new_task_row.create(
            id=self._get_id(),
            args_kwargs=normalize_json({"args": args, "kwargs": kwargs}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,
            backend_name=self.alias,
        )
