"""django-tasks-db's backend, with its task row inserted by a statement compiled once.

Each completed recording enqueues its fetch, inside the notification's transaction. The
backend's own `DBTaskResult.objects.create()` had Django rebuild the INSERT every time, most
of what enqueueing cost; this one makes the same row, with the same values, through a
PreparedInsert (recordings/prepared.py), and the result it returns is built from the task
in hand rather than imported again by its path. Everything else is the library's.
"""

from collections.abc import Callable

from django.db.models.signals import post_save, pre_save
from django.utils.functional import cached_property
from django_tasks_db import DatabaseBackend as LibraryDatabaseBackend
from django_tasks_db.backend import TaskResult
from django_tasks_db.compat import TaskResultStatus, normalize_json, task_enqueued
from django_tasks_db.signal_handlers import set_run_after
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
        return self._enqueued(task, self._task_to_db_task(task, args, kwargs))

    def enqueue_from(self, task, *, source: str, arg: str) -> tuple[str, list, Callable] | None:
        """`enqueue(task, x)` folded into a statement of the caller's (a data-modifying WITH,
        on PostgreSQL): the task row's INSERT ... SELECT ... FROM `source`, whose one
        argument x is `arg`, an SQL expression over `source`'s row. Returns the statement,
        its parameters, and what to call with x once the statement has inserted the row:
        it announces the task (task_enqueued) and returns its result, as enqueue() does.

        The row is enqueue()'s, value for value (tests/recordings/test_prepared.py holds
        the two side by side), with one difference of order: the library's pre_save receiver
        fills an unset run_after with its far future, and here it is given. Any other
        receiver of the row's pre_save or post_save is owed the instance, so then the answer
        is None, and the caller enqueues as usual.
        """
        from django_tasks_db.models import DBTaskResult, get_date_max

        self.validate_task(task)
        saving, _ = pre_save._live_receivers(DBTaskResult)
        if any(receiver is not set_run_after for receiver in saving) or post_save.has_listeners(
            DBTaskResult
        ):
            return None
        folded = self._new_task_row.insert_select(
            {
                "id": self._get_id(),
                "priority": task.priority,
                "task_path": task.module_path,
                "queue_name": task.queue_name,
                "run_after": get_date_max() if task.run_after is None else task.run_after,
                "backend_name": self.alias,
            },
            source=source,
            # The row's {"args": [x], "kwargs": {}}, as PostgreSQL's JSON makes it.
            taken={
                "args_kwargs": (
                    f"jsonb_build_object('args', jsonb_build_array({arg}), 'kwargs', '{{}}'::jsonb)"
                )
            },
        )
        if folded is None:
            return None
        sql, params, row = folded

        def inserted(value) -> TaskResult:
            row.args_kwargs = normalize_json({"args": [value], "kwargs": {}})
            row._state.adding = False
            row._state.db = self._new_task_row.using
            return self._enqueued(task, row)

        return sql, params, inserted

    def _enqueued(self, task, row) -> TaskResult:
        """Announce the task whose row was just inserted and return its result."""
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
