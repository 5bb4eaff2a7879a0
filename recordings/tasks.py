"""Thin tasks: load a row, call a service. Each is safe to run twice or on two workers.

Each names its queue (settings.TASKS), and each queue has workers of its own: "calls" holds
only what Graph waits on, the answer; everything else, which may ask Graph many things or
wait minutes on audio, goes on "default".

The periodic ones carry a `@cron` schedule: `manage.py crontask` (started by `make run`
beside the workers) enqueues them on time, and the workers run them like any other task.
"""

import logging

from crontask import cron
from django.tasks import task

from recordings import services
from recordings.models import Call

logger = logging.getLogger(__name__)


@task(queue_name="calls")
def answer_call_task(call_pk: int) -> bool:
    call = Call.objects.filter(pk=call_pk).first()
    if call is None:
        return False
    return services.answer_call(call=call)


@task(queue_name="default")
def close_abandoned_operations_task() -> int:
    return len(services.close_abandoned_operations())


@task(queue_name="default")
def fetch_recording_task(recording_pk: int) -> bool:
    # False when another worker (or an earlier run of this task) has it, or it is done.
    return services.fetch_recording(recording_pk=recording_pk) is not None


@cron("*/5 * * * *")
@task(queue_name="default")
def reconcile_task() -> dict[str, int]:
    """Every five minutes: close what Graph will never finish, then give every fetch that
    should be under way (or may still succeed) a task."""
    closed = services.close_abandoned_operations()
    enqueued = services.retry_recording_fetches()
    return {"closed": len(closed), "fetches_enqueued": len(enqueued)}


@cron("17 3 * * *")
@task(queue_name="default")
def purge_recordings_task() -> int:
    """Nightly: delete audio past RECORDING_RETENTION_DAYS (rows stay, marked purged)."""
    return len(services.purge_expired_recordings())
