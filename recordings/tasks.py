"""Thin tasks: load a row, call a service. Each is safe to run twice or on two workers.

Each names its queue (settings.TASKS), and each queue has workers of its own: "calls" holds
only what Graph waits on, the answer; everything else, which may ask Graph many things or
wait minutes on audio, goes on "default".

The periodic ones carry a `@cron` schedule: `manage.py crontask` (started by `make run`
beside the workers) enqueues them on time, and the workers run them like any other task.
The services enqueue these through `recordings.services.enqueue`, which names them.
"""

import logging

from crontask import cron
from django.tasks import task

from recordings.models import Call
from recordings.services import calls as call_services
from recordings.services import fetching as fetch_services
from recordings.services import operations as operation_services
from recordings.services import retention as retention_services

logger = logging.getLogger(__name__)


@task(queue_name="calls")
def answer_call_task(call_pk: int) -> bool:
    call = Call.objects.filter(pk=call_pk).first()
    if call is None:
        return False
    return call_services.answer_call(call=call)


@task(queue_name="default")
def close_abandoned_operations_task() -> int:
    return len(operation_services.close_abandoned_operations())


@task(queue_name="default")
def fetch_recording_task(recording_pk: int) -> bool:
    # False when another worker (or an earlier run of this task) has it, or it is done.
    return fetch_services.fetch_recording(recording_pk=recording_pk) is not None


@cron("*/5 * * * *")
@task(queue_name="default")
def reconcile_task() -> dict[str, int]:
    """Every five minutes: close what Graph will never finish, then give every fetch that
    should be under way (or may still succeed) a task."""
    closed = operation_services.close_abandoned_operations()
    enqueued = fetch_services.retry_recording_fetches()
    return {"closed": len(closed), "fetches_enqueued": len(enqueued)}


@cron("* * * * *")
@task(queue_name="default")
def take_over_lapsed_fetches_task() -> int:
    """Every minute: hand on the fetches whose worker died (its lease ran out) while Graph
    still keeps the audio, and delete the partial files such workers left."""
    return len(fetch_services.take_over_lapsed_fetches())


@cron("*/5 * * * *")
@task(queue_name="default")
def keep_calls_alive_task() -> int:
    """Every five minutes: a keepAlive for each live call whose last is GRAPH_KEEPALIVE_MINUTES
    old, so Graph never ends a call for the lack of one (45 minutes)."""
    return len(call_services.keep_calls_alive())


@cron("17 3 * * *")
@task(queue_name="default")
def purge_recordings_task() -> int:
    """Nightly: delete audio past RECORDING_RETENTION_DAYS (rows stay, marked purged)."""
    return len(retention_services.purge_expired_recordings())
