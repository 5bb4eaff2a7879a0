"""PostgreSQL prepares the statements every notification runs, once per connection
(recorder_site/postgresql/base.py), and nothing else; turned off, nothing is prepared.

What is prepared is read from PostgreSQL itself: pg_prepared_statements lists the session's.
"""

import json
import select
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.postgresql.base import ServerBindingCursor
from django.test.utils import CaptureQueriesContext

from recordings.models import Call, Notification, Recording, RecordOperation
from recordings.prepared import PreparedInsert
from recordings.services import notifications as notification_services
from tests.support.factories import create_operation
from tests.support.graph import graph_fixture
from tests.support.tasks import use_task_backend

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's here"
    ),
    pytest.mark.django_db,
]


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        return [statement for (statement,) in cursor.fetchall()]


@pytest.fixture
def options():
    """The connection's OPTIONS, given back as they were after the test."""
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    yield options
    options.clear()
    options.update(saved)


def test_the_settings_turn_prepared_statements_on_for_the_recorder_backend():
    assert connection.settings_dict["ENGINE"] == "recorder_site.postgresql"
    assert connection.prepares_statements
    assert "prepared_statements" not in connection.get_connection_params()


def test_a_notification_prepares_the_statements_it_runs_and_nothing_else(settings):
    use_task_backend(settings)  # the fetch is queued as make run queues it
    payload = graph_fixture("v1.0/notification-completed")
    call_id, operation_id = payload["value"][0]["resourceUrl"].split("/")[3::2]
    call = Call.objects.create(graph_id=call_id, state="established")
    create_operation(call=call, graph_id=operation_id)
    # Ordinary queries, more often than psycopg's own threshold: Django's, and one bound on
    # the server as Django binds them with OPTIONS["server_side_binding"].
    server_bound = ServerBindingCursor(connection.connection)
    for _ in range(10):
        list(Call.objects.filter(pk=call.pk))
        server_bound.execute("SELECT count(*) FROM recordings_call WHERE id = %s", [call.pk])

    notification_services.receive_notification(
        body=json.dumps(payload).encode(), headers={}, remote_addr=None, claims={}
    )

    assert RecordOperation.objects.get(graph_id=operation_id).status == "completed"
    statements = prepared_statements()
    # The completion (the operation's move, its Recording, its queued fetch) as one
    # statement (recordings/services/fetching.py), then the POST's row.
    assert len(statements) == 2
    completion, stored = statements
    assert completion.startswith('WITH moved AS (UPDATE "recordings_recordoperation"')
    assert 'INSERT INTO "recordings_recording"' in completion
    assert 'INSERT INTO "django_tasks_database_dbtaskresult"' in completion
    assert stored.startswith('INSERT INTO "recordings_notification"')
    assert not any('"recordings_call"' in statement for statement in statements)


def test_a_prepared_statement_is_prepared_once_and_gives_the_same_rows():
    call = Call.objects.create(graph_id="6c2d8b1f-3e30-4d7b-8b66-1e7f6f9b8c22", state="established")
    insert = PreparedInsert(Recording)
    rows = [
        insert.create(
            operation_id=create_operation(
                call=call, graph_id=f"4e4f0b6d-1c39-4f1e-9d43-7f3c2a1b0c0{n}"
            ).pk
        )
        for n in range(3)
    ]

    recording_statements = [s for s in prepared_statements() if "recordings_recording" in s]
    assert len(recording_statements) == 1
    assert "$1" in recording_statements[0]  # bound on the server, not quoted into the text
    stored = Recording.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk")
    assert [r.operation_id for r in stored] == [r.operation_id for r in rows]
    assert all(r.status == "pending" and r.created_at is not None for r in stored)


def test_statements_are_prepared_again_after_a_rollback_clears_them():
    insert = PreparedInsert(Notification)
    insert.create(body=b"{}", body_sha256="0" * 64, headers={}, token_claims={})
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        insert.create(body=b"{}", body_sha256="1" * 64, headers={}, token_claims={})
        1 / 0  # noqa: B018  the savepoint is rolled back, and psycopg forgets its statements

    again = insert.create(body=b"[]", body_sha256="2" * 64, headers={}, token_claims={})

    assert Notification.objects.get(pk=again.pk).body_sha256 == "2" * 64
    assert sorted(Notification.objects.values_list("body_sha256", flat=True)) == [
        "0" * 64,
        "2" * 64,
    ]
    assert any("recordings_notification" in s for s in prepared_statements())


def test_dates_come_back_in_the_connections_time_zone_and_queries_are_logged():
    with connection.prepared_cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [datetime(2026, 12, 2, 6, 0, tzinfo=UTC)])
        (value,) = cursor.fetchone()
    assert value == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert value.utcoffset() == timedelta(0)

    with CaptureQueriesContext(connection) as queries, connection.prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone() == (42,)
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 41::int + 1"]


def test_turned_off_nothing_is_prepared(options):
    options["prepared_statements"] = "false"  # as a URL gives it
    assert not connection.prepares_statements
    PreparedInsert(Notification).create(
        body=b"{}", body_sha256="3" * 64, headers={}, token_claims={}
    )
    assert prepared_statements() == []


def test_a_setting_that_is_neither_true_nor_false_is_refused(options):
    options["prepared_statements"] = "sometimes"
    with pytest.raises(ImproperlyConfigured, match="must be true or false, not 'sometimes'"):
        connection.prepared_cursor()


def test_the_prepared_cursor_is_kept_and_lent_again():
    with connection.prepared_cursor() as first:
        first.execute("SELECT %s::int", [1])
        assert first.fetchone() == (1,)
    with connection.prepared_cursor() as second:
        second.execute("SELECT %s::text", ["two"])
        assert second.fetchone() == ("two",)

    assert second.cursor is first.cursor
    assert not first.cursor.closed  # handed back on leaving the with, not closed


def test_a_second_prepared_cursor_while_the_first_is_out_is_a_cursor_of_its_own():
    with connection.prepared_cursor() as outer:
        outer.execute("SELECT n FROM generate_series(1, 3) AS n WHERE n >= %s", [1])
        with connection.prepared_cursor() as inner:
            inner.execute("SELECT %s::int * 10", [4])
            assert inner.fetchone() == (40,)
        # The outer statement's rows are still there to read.
        assert outer.fetchall() == [(1,), (2,), (3,)]

    assert inner.cursor is not outer.cursor
    assert inner.cursor.closed  # a cursor for one caller is closed as ever
    with connection.prepared_cursor() as again:
        assert again.cursor is outer.cursor


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_a_new_kept_cursor():
    with connection.prepared_cursor() as before:
        pass
    connection.close()

    with connection.prepared_cursor() as after:
        after.execute("SELECT %s::int", [7])
        assert after.fetchone() == (7,)
    assert after.cursor is not before.cursor
    assert after.cursor.connection is connection.connection


def test_the_kept_cursor_follows_a_change_of_the_connections_time_zone():
    stamp = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    with connection.prepared_cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [stamp])
        assert cursor.fetchone()[0].utcoffset() == timedelta(0)

    wrapper = connections[DEFAULT_DB_ALIAS]  # not the proxy: its cached properties
    saved = wrapper.settings_dict["TIME_ZONE"]
    wrapper.settings_dict["TIME_ZONE"] = "Asia/Kolkata"
    for cached in ("timezone", "timezone_name"):
        wrapper.__dict__.pop(cached, None)
    wrapper.ensure_timezone()  # as Django's own TIME_ZONE change does
    try:
        with connection.prepared_cursor() as cursor:
            cursor.execute("SELECT %s::timestamptz", [stamp])
            (value,) = cursor.fetchone()
        assert value == stamp
        assert value.utcoffset() == timedelta(hours=5, minutes=30)
    finally:
        wrapper.settings_dict["TIME_ZONE"] = saved
        for cached in ("timezone", "timezone_name"):
            wrapper.__dict__.pop(cached, None)
        wrapper.ensure_timezone()


def observer():
    """A second session, to watch this one from PostgreSQL's side."""
    return psycopg.connect(**connection.get_connection_params(), autocommit=True)


def wait_until_readable(timeout: float = 5.0) -> None:
    """Until something the server sent is waiting on this connection's socket."""
    deadline = time.monotonic() + timeout
    while not select.select([connection.connection.fileno()], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "the server sent nothing"


@pytest.mark.django_db(transaction=True)
def test_a_healthy_connection_passes_the_health_check_without_a_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last query'")
    pid = connection.connection.info.backend_pid

    assert connection.is_usable()

    with observer() as watcher:
        (last,) = watcher.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()
    assert last == "SELECT 'the last query'"  # no SELECT 1 was sent


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_fails_the_health_check_and_is_replaced():
    connection.ensure_connection()
    ended = connection.connection
    with observer() as watcher:
        watcher.execute("SELECT pg_terminate_backend(%s)", [ended.info.backend_pid])
    wait_until_readable()

    assert not connection.is_usable()
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None

    # The next query has a new connection, as after Django's own check.
    assert Call.objects.count() == 0
    assert connection.connection is not ended


@pytest.mark.django_db(transaction=True)
def test_something_else_waiting_on_the_socket_is_read_by_asking():
    connection.ensure_connection()
    connection.connection.execute("LISTEN recorder_health")
    with observer() as watcher:
        watcher.execute("NOTIFY recorder_health")
    wait_until_readable()

    assert connection.is_usable()  # a notice is not an ending: SELECT 1 read it and passed
    connection.connection.execute("UNLISTEN recorder_health")
