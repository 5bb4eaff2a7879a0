"""Thin tasks: load a row, call a service. Each is safe to run twice or on two workers."""

import logging

from django.tasks import task

from recordings import services
from recordings.models import Call

logger = logging.getLogger(__name__)


@task()
def answer_call_task(call_pk: int) -> bool:
    call = Call.objects.filter(pk=call_pk).first()
    if call is None:
        return False
    return services.answer_call(call=call)


@task()
def close_abandoned_operations_task() -> int:
    return len(services.close_abandoned_operations())
