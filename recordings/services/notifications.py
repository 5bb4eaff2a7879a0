"""Graph's notifications: applied and stored raw in one transaction, under a lock on the call
row when the operation is not known yet, so a notification and the operation it names can't
miss each other."""

import contextlib
import hashlib
import json
import logging
import traceback
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from recordings.graph import ParsedNotification, PayloadError, parse_notifications
from recordings.graph.operations import too_deep_problem
from recordings.group_commit import BatchFailed, GroupCommit
from recordings.models import Notification, RecordOperation
from recordings.prepared import PreparedInsert
from recordings.services import calls as call_services
from recordings.services import operations as operation_services
from recordings.storable import storable_json, storable_text

logger = logging.getLogger(__name__)


# One for every POST: the INSERT is compiled once (recordings/prepared.py).
_NEW_NOTIFICATION = PreparedInsert(Notification)
# The POSTs this process is applying at the same moment, committed together.
_received = GroupCommit()


def store_notification(
    *, body: bytes, headers: dict, remote_addr: str | None, claims: dict, **fields
) -> Notification:
    return _NEW_NOTIFICATION.create(
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        headers=storable_json(headers),
        remote_addr=remote_addr,
        token_claims=storable_json(claims),
        **fields,
    )


def receive_notification(
    *, body: bytes, headers: dict, remote_addr: str | None, claims: dict
) -> Notification:
    """Apply an authenticated POST and store it raw with the outcome, in one transaction: one
    commit.

    The row is inserted last, already carrying what applying it found (processed, matched or
    not): it commits with the apply or not at all, so one INSERT does the work of an INSERT
    and an UPDATE. Notifications that arrive at the same moment share that transaction
    (recordings/group_commit.py); if it fails, each is applied again on its own. When the
    apply fails, its transaction takes everything with it, so the POST is stored on its own
    with the reason, and the error raised. If the process dies in between, nothing was
    answered, and Graph delivers again: nothing is lost either way.
    """
    try:
        # Parsed before the transaction begins: on SQLite it holds the one write lock.
        items = _parse(body)

        def apply_and_store() -> Notification:
            return store_notification(
                body=body,
                headers=headers,
                remote_addr=remote_addr,
                claims=claims,
                **_apply_items_and_mark(items),
            )

        try:
            notification = _received.run(apply_and_store)
        except BatchFailed:
            with transaction.atomic():
                notification = apply_and_store()
    except Exception as err:
        store_notification(
            body=body,
            headers=headers,
            remote_addr=remote_addr,
            claims=claims,
            **_failure(err),
        )
        raise
    return notification


def apply_notification(notification: Notification) -> Notification:
    """Apply a stored POST again (the admin's re-apply). Safe to repeat: every step is
    idempotent. A failure is saved on the row, then raised."""
    try:
        with transaction.atomic():
            _apply_and_mark(notification)
    except Exception as err:
        fields = _failure(err)
        Notification.objects.filter(pk=notification.pk).update(**fields)
        for name, value in fields.items():
            setattr(notification, name, value)
        raise
    return notification


def apply_waiting_notifications(operation: RecordOperation) -> None:
    """Apply notifications that named this operation before Recorder knew it."""
    since = timezone.now() - timedelta(days=1)
    waiting = Notification.objects.filter(matched=False, received_at__gte=since).order_by("pk")
    wanted = operation.graph_id.lower()
    for notification in waiting:
        if any(str(i).lower() == wanted for i in notification.unmatched_operation_ids):
            # A failure stays on that notification's row; it must not undo this operation.
            with contextlib.suppress(Exception):
                apply_notification(notification)


def _apply_and_mark(notification: Notification) -> None:
    fields = _apply_items_and_mark(_parse(bytes(notification.body)))
    Notification.objects.filter(pk=notification.pk).update(**fields)
    for name, value in fields.items():
        setattr(notification, name, value)


def _apply_items_and_mark(items: list[ParsedNotification]) -> dict:
    """Apply a POST's notifications; the row's fields that say how that went."""
    unmatched = _apply_items(items)
    return {
        "processed_at": timezone.now(),
        "matched": not unmatched,
        "unmatched_operation_ids": sorted(unmatched),
        "error": "",
        "traceback": "",
    }


def _failure(err: Exception) -> dict[str, str]:
    # An exception's text may quote what the body held: it is kept the way it can be stored.
    if isinstance(err, PayloadError):
        return {"error": storable_text(str(err)), "traceback": ""}
    return {
        "error": storable_text(f"{type(err).__name__}: {err}"),
        "traceback": storable_text(traceback.format_exc()),
    }


def _parse(body: bytes) -> list[ParsedNotification]:
    try:
        return parse_notifications(json.loads(body))
    except (ValueError, PayloadError, RecursionError) as err:
        raise PayloadError(_payload_problem(err)) from err


def _payload_problem(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"The body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}."
    if isinstance(err, UnicodeDecodeError):
        return "The body is not UTF-8 text."
    if isinstance(err, RecursionError):
        return too_deep_problem()
    return str(err)


def _apply_items(items: list[ParsedNotification]) -> set[str]:
    unmatched: set[str] = set()
    for item in items:
        if item.operation is not None:
            # Graph types each operation; only an untyped one may still be a media operation.
            if (
                not item.names_record_operation
                and operation_services.advance_media_operation(item.operation) is not None
            ):
                continue  # a prompt played or the keys subscribed to: no recording
            if not _apply_operation_notification(item):
                unmatched.add(item.operation_id or item.operation.id)
        elif item.call is not None:
            call = call_services.apply_graph_call(
                graph_id=item.call.id or item.call_id, parsed=item.call
            )
            call_services.record_tone(call=call, parsed=item.call)
        else:
            logger.info("Ignoring a notification for %s (%s)", item.resource_url, item.odata_type)
    return unmatched


def _apply_operation_notification(item: ParsedNotification) -> bool:
    """Apply one record-operation notification; False when the operation is not known yet.

    Runs inside the notification's transaction. The common case is one conditional UPDATE,
    prepared once (operation_services.move_operation).
    When the operation is missing, the call's row is locked and the operation looked up
    again: start_recording holds that lock while it creates the operation and looks for
    notifications that waited for it, so the two cannot miss each other.
    """
    operation_id = item.operation.id or item.operation_id
    if operation_services.advance_operation(operation_id, item.operation):
        return True
    operations = RecordOperation.objects.with_graph_id(operation_id)
    if operations.exists():
        return True  # known, and Graph's word was a replay or stale
    if call_services.lock_call(item.call_id) is None or not operations.exists():
        return False
    operation_services.advance_operation(operations, item.operation)
    return True
