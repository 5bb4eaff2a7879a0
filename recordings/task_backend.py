"""django-tasks-db's backend, with its task row inserted by a statement compiled once.

Each completed recording enqueues its fetch, inside the notification's transaction. The
backend's own `DBTaskResult.objects.create()` had Django rebuild the INSERT every time, most
of what enqueueing cost; this one makes the same row, with the same values, through a
PreparedInsert (recordings/prepared.py). Everything else is the library's.
"""

from django.utils.functional import cached_property
from django_tasks_db import DatabaseBackend as LibraryDatabaseBackend
from django_tasks_db.compat import normalize_json, task_enqueued

from recordings.prepared import PreparedInsert


class DatabaseBackend(LibraryDatabaseBackend):
    @cached_property
    def _new_task_row(self) -> PreparedInsert:
        from django_tasks_db.models import DBTaskResult

        return PreparedInsert(DBTaskResult)

    def enqueue(self, task, args, kwargs):
        # The library's method, building the result it announces and returns once, not twice.
        self.validate_task(task)
        result = self._task_to_db_task(task, args, kwargs).task_result
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
