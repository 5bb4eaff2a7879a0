"""The task backend a test's tasks go to, on the project's queues."""

# Recorder's own, as `make run` has it: a task is a row inserted in the transaction that
# queues it.
DATABASE_BACKEND = "recordings.task_backend.DatabaseBackend"


def use_task_backend(settings, backend: str = DATABASE_BACKEND) -> None:
    """Send this test's tasks to `backend` (an import path) through pytest-django's
    `settings`, keeping the project's queues."""
    queues = settings.TASKS["default"]["QUEUES"]
    settings.TASKS = {"default": {"BACKEND": backend, "QUEUES": queues}}
