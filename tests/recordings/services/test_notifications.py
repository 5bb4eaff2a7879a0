"""Notifications are stored as they came, and two deliveries of the same notification at the
same moment have the effect of one.

The concurrent tests run real transactions on two threads (two database connections), so the
locks and unique constraints do the work, not the test's ordering. On PostgreSQL the row lock
on the call serialises them; on SQLite the write lock does.
"""

import json
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recordings.models import Call, Notification, RecordOperation
from recordings.services import enqueue
from recordings.services import notifications as notification_services
from recordings.services import operations as operation_services
from tests.support.factories import create_operation
from tests.support.graph import graph_fixture
from tests.support.tasks import use_task_backend


def run_together(target, rows):
    barrier = threading.Barrier(len(rows))
    errors = []

    def work(row):
        try:
            barrier.wait()
            target(row)
        except Exception as err:  # reported below, with the thread's error
            errors.append(err)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(row,)) for row in rows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors


def stored(payload):
    body = json.dumps(payload).encode()
    return notification_services.store_notification(
        body=body, headers={}, remote_addr=None, claims={}
    )


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_a_new_call_at_once_create_one_call_and_answer_it_once(monkeypatch):
    answered = []
    monkeypatch.setattr(enqueue, "answer_call", answered.append)
    payload = graph_fixture("v1.0/notification-call-established")
    payload["value"][0]["changeType"] = "created"
    payload["value"][0]["resourceData"]["state"] = "incoming"
    rows = [stored(payload) for _ in range(4)]

    run_together(notification_services.apply_notification, rows)

    call = Call.objects.get()
    assert call.state == "incoming"
    assert answered == [call.pk]


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_a_completion_at_once_finish_the_operation_once(monkeypatch):
    call = Call.objects.create(graph_id="421f1100-f4ff-4d0b-a10e-a4d5b1d2be55", state="established")
    operation = create_operation(call=call)
    moves = []
    advance = operation_services.advance_operation

    def counting(op, parsed):
        changed = advance(op, parsed)
        if changed:
            moves.append(parsed.status)
        return changed

    monkeypatch.setattr(operation_services, "advance_operation", counting)
    rows = [stored(graph_fixture("v1.0/notification-completed")) for _ in range(4)]

    run_together(notification_services.apply_notification, rows)

    operation.refresh_from_db()
    assert operation.status == "completed"
    assert moves == ["completed"]


def test_notification_rows_keep_their_bytes(db):
    row = notification_services.store_notification(
        body=b"\xff\xfe", headers={}, remote_addr=None, claims={}
    )
    assert bytes(Notification.objects.get(pk=row.pk).body) == b"\xff\xfe"


def _completion_statements(payload) -> list[str]:
    body = json.dumps(payload).encode()
    with CaptureQueriesContext(connection) as queries:
        notification_services.receive_notification(
            body=body, headers={}, remote_addr=None, claims={}
        )
    return [query["sql"] for query in queries.captured_queries]


def test_a_completion_typed_as_a_record_operation_is_applied_without_a_media_lookup(db, settings):
    """The four writes a completion needs, and nothing more: its fetch queued as a row of the
    database task backend, in the same transaction."""
    use_task_backend(settings)
    call = Call.objects.create(graph_id="421f1100-f4ff-4d0b-a10e-a4d5b1d2be55", state="established")
    create_operation(call=call)

    statements = _completion_statements(graph_fixture("v1.0/notification-completed"))

    assert not [sql for sql in statements if "recordings_mediaoperation" in sql]
    # "UPDATE <table> SET ..." and "INSERT INTO <table> (...": the verb and the table.
    writes = [
        " ".join(sql.replace("INSERT INTO", "INSERT").split()[:2])
        for sql in statements
        if sql.startswith(("UPDATE", "INSERT"))
    ]
    if connection.vendor == "postgresql":
        # The first three as one statement (tests/recordings/services/
        # test_fetching_completion.py), then the POST.
        folded = [sql for sql in statements if sql.startswith("WITH moved AS (UPDATE")]
        assert len(folded) == 1
        assert 'INSERT INTO "recordings_recording"' in folded[0]
        assert 'INSERT INTO "django_tasks_database_dbtaskresult"' in folded[0]
        assert writes == ['INSERT "recordings_notification"']
    else:
        assert writes == [
            'UPDATE "recordings_recordoperation"',
            'INSERT "recordings_recording"',
            'INSERT "django_tasks_database_dbtaskresult"',
            'INSERT "recordings_notification"',
        ]
    assert RecordOperation.objects.get().status == "completed"


def test_an_untyped_operation_is_still_looked_for_among_the_media_operations(db):
    call = Call.objects.create(graph_id="421f1100-f4ff-4d0b-a10e-a4d5b1d2be55", state="established")
    create_operation(call=call)
    payload = graph_fixture("v1.0/notification-completed")
    del payload["value"][0]["resourceData"]["@odata.type"]

    statements = _completion_statements(payload)

    assert [sql for sql in statements if "recordings_mediaoperation" in sql]
    assert RecordOperation.objects.get().status == "completed"
