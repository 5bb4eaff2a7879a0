"""Posting notifications to a call's callback URL, the way Graph does: JSON, signed with a
Bearer JWT, retried on 5xx or no answer, at least once and not always in order.

Every POST is a `Delivery` row with its outcome. `notify()` runs in the calling thread (a
background thread, or the `emulator_call` command): nothing here runs inside a request.

The notification faults act here:
- drop_notifications: the notification is logged as dropped and never posted;
- duplicate_notifications: each one is posted twice;
- reorder_notifications: a call's notification is held until the call's next notification has
  been delivered (or until `hold_seconds` emulated seconds pass), so pairs arrive swapped:
  established before establishing, a completion before the update that preceded it.
"""

import json
import logging
import time

import requests
from django.utils import timezone

from graph_emulator import background, clock, faults, signing
from graph_emulator.models import Call, Delivery, DeliveryStatus, FaultName
from graph_emulator.payloads import V1, envelope
from graph_emulator.transport import NotLoopback, check_loopback, post_json

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
BACKOFF_EMULATED_SECONDS = 1.0  # 1, 2, 4 emulated seconds between attempts


def notify(
    *,
    call: Call,
    notification: dict,
    summary: str,
    operation_id: str = "",
    profile: str = V1,
    may_hold: bool = True,
) -> Delivery:
    delivery = Delivery.objects.create(
        call=call,
        operation_id=operation_id,
        summary=summary,
        url=call.callback_url,
        payload=envelope([notification], profile=profile),
    )
    if faults.take(FaultName.DROP_NOTIFICATIONS) is not None:
        _close(delivery, DeliveryStatus.DROPPED, error="drop_notifications fault")
        return delivery
    try:
        check_loopback(delivery.url)
    except NotLoopback as err:
        _close(delivery, DeliveryStatus.REFUSED, error=str(err))
        return delivery

    held = _claim_held(call) if may_hold else None
    if held is None and may_hold:
        params = faults.take(FaultName.REORDER_NOTIFICATIONS)
        if params is not None:
            Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.HELD)
            hold = clock.to_real(float(params.get("hold_seconds", 2)))
            background.spawn(_release_after, delivery.pk, hold, name=f"hold-{delivery.pk}")
            return delivery
    _send(delivery)
    if held is not None:
        # The later one went first; now the one that was waiting.
        _send(held)
    return delivery


def record_lost(*, call: Call, notification: dict, summary: str, operation_id: str, profile: str):
    """Log a completion Graph never sends: a record operation the hang-up ended."""
    delivery = Delivery.objects.create(
        call=call,
        operation_id=operation_id,
        summary=summary,
        url=call.callback_url,
        payload=envelope([notification], profile=profile),
    )
    _close(
        delivery,
        DeliveryStatus.DROPPED,
        error="not sent: the call ended during the operation (as on Graph)",
    )


def _claim_held(call: Call) -> Delivery | None:
    for held in Delivery.objects.filter(call=call, status=DeliveryStatus.HELD).order_by("id"):
        # Conditional, so the hold timer and a later notification cannot both send it.
        if Delivery.objects.filter(pk=held.pk, status=DeliveryStatus.HELD).update(
            status=DeliveryStatus.PENDING
        ):
            held.status = DeliveryStatus.PENDING
            background.wake(f"hold:{held.pk}")
            return held
    return None


def _release_after(delivery_id: int, seconds: float) -> None:
    key = f"hold:{delivery_id}"
    try:
        # Woken early when a later notification claims it (in this process).
        background.wakeup_event(key).wait(seconds)
    finally:
        background.forget_wakeup(key)
    if Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.HELD).update(
        status=DeliveryStatus.PENDING
    ):
        _send(Delivery.objects.get(pk=delivery_id))


def _close(delivery: Delivery, status: str, **fields: object) -> None:
    fields.setdefault("finished_at", timezone.now())
    Delivery.objects.filter(pk=delivery.pk).update(status=status, **fields)


def _send(delivery: Delivery, *, duplicate: bool = False) -> None:
    body = json.dumps(delivery.payload).encode()
    http_status = None
    error = ""
    attempts = 0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        attempts = attempt
        headers = {"Authorization": f"Bearer {signing.notification_token()}"}
        try:
            http_status = post_json(delivery.url, body, headers)
            error = ""
        except NotLoopback as err:
            _close(delivery, DeliveryStatus.REFUSED, error=str(err), attempts=attempt)
            return
        except requests.RequestException as err:
            http_status = None
            error = f"{type(err).__name__}: {err}"
        if http_status is not None and http_status < 500:
            break  # a 4xx is the bot's answer: Graph does not retry it
        if attempt < MAX_ATTEMPTS:
            time.sleep(clock.to_real(BACKOFF_EMULATED_SECONDS * 2 ** (attempt - 1)))
    ok = http_status is not None and 200 <= http_status < 300
    _close(
        delivery,
        DeliveryStatus.SENT if ok else DeliveryStatus.FAILED,
        http_status=http_status,
        attempts=attempts,
        error=error,
    )
    if not ok:
        logger.warning("Notification %s to %s failed: %s", delivery.summary, delivery.url, error)
    if not duplicate and faults.take(FaultName.DUPLICATE_NOTIFICATIONS) is not None:
        copy = Delivery.objects.create(
            call_id=delivery.call_id,
            operation_id=delivery.operation_id,
            summary=delivery.summary,
            url=delivery.url,
            payload=delivery.payload,
            duplicate=True,
        )
        _send(copy, duplicate=True)
