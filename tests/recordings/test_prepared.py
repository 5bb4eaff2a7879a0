"""Statements compiled once (recordings.prepared) make the rows and changes the ORM makes.

Each test holds the prepared statement's result beside the ORM's for the same input, on the
database the suite runs on (CI runs it on SQLite and on PostgreSQL).
"""

from datetime import UTC, datetime
from enum import Enum

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django_tasks_db import DatabaseBackend as LibraryBackend
from django_tasks_db.models import DBTaskResult

from recorder_site import settings as settings_module
from recordings.models import (
    Call,
    FetchStatus,
    Notification,
    OperationStatus,
    Recording,
    RecordOperation,
)
from recordings.prepared import (
    PreparedInsert,
    PreparedUpdate,
    _reads_attribute,
    plain,
    update_returning,
)
from recordings.services import enqueue
from recordings.task_backend import DatabaseBackend
from tests.support.factories import create_operation


class Priority(models.IntegerChoices):
    LOW = 1
    HIGH = 2


# The columns that differ between two rows made a moment apart, whoever makes them.
OWN_COLUMNS = {"id", "created_at", "updated_at", "received_at", "enqueued_at", "operation"}


# The task's options as declared, and given: priority, queue and a time to run after.
TASK_OPTIONS = [
    {},
    {"priority": 7, "queue_name": "calls", "run_after": datetime(2031, 1, 2, 3, 4, tzinfo=UTC)},
]


def columns(row) -> dict:
    return {
        field.attname: getattr(row, field.attname)
        for field in type(row)._meta.concrete_fields
        if field.name not in OWN_COLUMNS
    }


@pytest.fixture
def operations(db):
    call = Call.objects.create(graph_id="7d9b5f49-7bb0-4d5b-8f0c-2f1b4f7a6a10", state="established")
    return [
        create_operation(
            call=call,
            graph_id=f"0a0b0c0d-0000-4000-8000-00000000000{n}",
            client_context=f"context-{n}",
        )
        for n in range(4)
    ]


def test_a_prepared_recording_row_is_the_row_create_makes(operations):
    prepared = PreparedInsert(Recording).create(operation_id=operations[0].pk)
    made = Recording.objects.create(operation_id=operations[1].pk)

    stored = Recording.objects.get(pk=prepared.pk)
    assert columns(stored) == columns(Recording.objects.get(pk=made.pk))
    assert stored.operation_id == operations[0].pk
    assert stored.created_at is not None and stored.updated_at is not None
    assert prepared.pk == stored.pk and not prepared._state.adding


def test_a_date_that_is_not_automatic_is_a_default_worked_out_once_or_the_value_given(operations):
    """A DateTimeField has a pre_save of its own, for auto_now and auto_now_add; without
    either it only reads the attribute, like Field's, so its default is fixed too."""
    assert _reads_attribute(Recording._meta.get_field("next_attempt_at"))
    assert not _reads_attribute(Recording._meta.get_field("created_at"))  # auto_now_add
    assert not _reads_attribute(Recording._meta.get_field("updated_at"))  # auto_now
    assert not _reads_attribute(Recording._meta.get_field("file"))
    insert = PreparedInsert(Recording)
    later = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)

    unset = insert.create(operation_id=operations[0].pk)
    given = insert.create(operation_id=operations[1].pk, next_attempt_at=later)
    made = Recording.objects.create(operation_id=operations[2].pk, next_attempt_at=later)

    assert Recording.objects.get(pk=unset.pk).next_attempt_at is None
    assert columns(Recording.objects.get(pk=given.pk)) == columns(Recording.objects.get(pk=made.pk))
    assert Recording.objects.get(pk=given.pk).next_attempt_at == later
    assert (
        Recording.objects.get(pk=unset.pk).created_at
        < Recording.objects.get(pk=given.pk).created_at
    )


def test_an_insert_select_makes_the_row_create_makes_from_the_source_row(operations):
    insert = PreparedInsert(Recording)
    source = f'"recordings_recordoperation" AS op WHERE op.id = {operations[0].pk:d}'
    sql, params, obj = insert.insert_select({}, source=source, taken={"operation_id": "op.id"})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ((pk,),) = cursor.fetchall()
    made = Recording.objects.create(operation_id=operations[1].pk)

    stored = Recording.objects.get(pk=pk)
    assert stored.operation_id == operations[0].pk
    assert columns(stored) == columns(Recording.objects.get(pk=made.pk))
    assert obj.operation_id is None and obj.created_at == stored.created_at
    # The statement is worked out once for the source, names and columns taken.
    assert insert.insert_select({}, source=source, taken={"operation_id": "op.id"})[0] is sql


def test_an_insert_select_from_no_row_inserts_nothing(operations):
    sql, params, _ = PreparedInsert(Recording).insert_select(
        {},
        source='"recordings_recordoperation" AS op WHERE op.id = -1',
        taken={"operation_id": "op.id"},
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.fetchall() == []
    assert not Recording.objects.exists()


def test_an_insert_select_does_not_take_the_primary_key(operations):
    # The primary key is what it returns, bound or made by the database.
    assert PreparedInsert(Recording).insert_select({}, source="x", taken={"id": "x.id"}) is None


def test_a_bound_update_is_the_statement_run_runs(operations):
    update = PreparedUpdate(RecordOperation, _by_lowered_id, returning=("id", "client_context"))
    changes = {"status": "completed", "result_code": 200}

    sql, params = update.bind(changes, shape=("completed",), args=(operations[0].graph_id.lower(),))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        bound = [tuple(row) for row in cursor.fetchall()]
    ran = update.run(changes, shape=("completed",), args=(operations[1].graph_id.lower(),))

    assert bound == [(operations[0].pk, "context-0")] and ran == [(operations[1].pk, "context-1")]
    first, second = (RecordOperation.objects.get(pk=op.pk) for op in operations[:2])
    assert (first.status, first.result_code) == (second.status, second.result_code)
    assert len(update._statements) == 1


def test_an_update_that_is_not_prepared_is_not_bound(operations):
    # As in the test below: a filter that transforms its argument is compiled each time.
    update = PreparedUpdate(
        RecordOperation,
        lambda rows, graph_id: rows.filter(Exact(Lower("graph_id"), graph_id.lower())),
        returning=("id",),
    )
    assert update.bind({"status": "completed"}, args=(operations[0].graph_id,)) is None
    assert RecordOperation.objects.get(pk=operations[0].pk).status == "running"


def test_a_prepared_notification_row_keeps_bytes_json_and_address_as_create_does(db):
    values = {
        "body": b'{"value": []}\xff',
        "body_sha256": "ab" * 32,
        "headers": {"CONTENT_TYPE": "application/json", "HTTP_USER_AGENT": "graph"},
        "remote_addr": "2001:db8::1",
        "token_claims": {"tid": "tenant", "nested": {"list": [1, 2.5, None, "é"]}},
        "matched": False,
        "unmatched_operation_ids": ["b", "a"],
        "error": "a reason",
    }
    prepared = PreparedInsert(Notification).create(**values)
    made = Notification.objects.create(**values)

    stored, expected = (Notification.objects.get(pk=row.pk) for row in (prepared, made))
    assert columns(stored) == columns(expected)
    assert bytes(stored.body) == values["body"]
    assert stored.token_claims == values["token_claims"]


def test_a_second_recording_for_one_operation_is_refused_as_the_orm_refuses_it(operations):
    insert = PreparedInsert(Recording)
    insert.create(operation_id=operations[0].pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert.create(operation_id=operations[0].pk)
    assert Recording.objects.filter(operation_id=operations[0].pk).count() == 1


def test_receivers_hear_a_prepared_insert_and_may_change_the_row(operations):
    heard = []

    def before(sender, instance, **kwargs):
        heard.append(("pre_save", kwargs["raw"]))
        # Defaults the statement's plan worked out once: a receiver's word still counts.
        instance.error = "set by a receiver"
        instance.attempts = 3

    def after(sender, instance, created, **kwargs):
        heard.append(("post_save", created, instance.pk))

    pre_save.connect(before, sender=Recording)
    post_save.connect(after, sender=Recording)
    try:
        row = PreparedInsert(Recording).create(operation_id=operations[0].pk)
    finally:
        pre_save.disconnect(before, sender=Recording)
        post_save.disconnect(after, sender=Recording)

    assert heard == [("pre_save", False), ("post_save", True, row.pk)]
    stored = Recording.objects.get(pk=row.pk)
    assert (stored.error, stored.attempts, stored.status) == ("set by a receiver", 3, "pending")


def test_a_receiver_that_sets_an_expression_is_inserted_by_the_orm(operations):
    def before(sender, instance, **kwargs):
        instance.attempts = F("attempts")  # meaningless in an INSERT: the database says so

    pre_save.connect(before, sender=Recording)
    try:
        with pytest.raises(ValueError, match="can only be used to update"):
            PreparedInsert(Recording).create(operation_id=operations[0].pk)
    finally:
        pre_save.disconnect(before, sender=Recording)
    # Django's own refusal of F() in an INSERT, not a malformed statement of ours.


def test_the_insert_is_compiled_once_per_database(operations):
    insert = PreparedInsert(Recording)
    for operation in operations[:3]:
        insert.create(operation_id=operation.pk)
    assert list(insert._statements) == [(connection.vendor, False)]
    with CaptureQueriesContext(connection) as queries:
        insert.create(operation_id=operations[3].pk)
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith('INSERT INTO "recordings_recording"')


def test_recorders_task_row_is_the_row_django_tasks_db_makes(db):
    """Recorder's backend inserts the task row through a prepared statement; the library's
    receiver (run_after far in the future when not given) must still have its say."""
    task = enqueue._task("fetch_recording_task")
    ours = DatabaseBackend("default", {"QUEUES": ["calls", "default"]})
    library = LibraryBackend("default", {"QUEUES": ["calls", "default"]})

    mine = ours.enqueue(task, [41], {})
    theirs = library.enqueue(task, [41], {})

    assert columns(DBTaskResult.objects.get(id=mine.id)) == columns(
        DBTaskResult.objects.get(id=theirs.id)
    )
    assert mine.args == [41] and mine.status == theirs.status
    assert settings_module._TASK_BACKENDS["database"] == "recordings.task_backend.DatabaseBackend"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the argument is PostgreSQL's JSON")
@pytest.mark.parametrize("options", TASK_OPTIONS, ids=["as declared", "with options"])
def test_a_task_row_folded_into_a_statement_is_the_row_enqueue_makes(db, options, heard):
    task = enqueue._task("fetch_recording_task").using(**options)
    backend = DatabaseBackend("default", {"QUEUES": ["calls", "default"]})

    sql, params, inserted = backend.enqueue_from(task, source="(SELECT 44 AS pk) AS s", arg="s.pk")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ((row_id,),) = cursor.fetchall()
    assert heard == []  # announced once the row is there, not before
    result = inserted(44)
    announced = list(heard)
    enqueued = backend.enqueue(task, [44], {})

    folded = DBTaskResult.objects.get(id=row_id)
    assert columns(folded) == columns(DBTaskResult.objects.get(id=enqueued.id))
    assert folded.args_kwargs == {"args": [44], "kwargs": {}}
    assert announced == [result] and result.id == str(row_id) and result.args == [44]
    assert result == folded.task_result


def test_a_task_row_is_not_folded_while_a_receiver_is_owed_its_save(db):
    task = enqueue._task("fetch_recording_task")
    backend = DatabaseBackend("default", {"QUEUES": ["calls", "default"]})

    def listener(sender, instance, **kwargs):
        pass

    for signal in (pre_save, post_save):
        signal.connect(listener, sender=DBTaskResult)
        try:
            assert backend.enqueue_from(task, source="s", arg="s.pk") is None
        finally:
            signal.disconnect(listener, sender=DBTaskResult)
    assert backend.enqueue_from(task, source="s", arg="s.pk") is not None


@pytest.mark.parametrize("options", TASK_OPTIONS, ids=["as declared", "with options"])
def test_recorders_enqueue_returns_the_result_the_row_gives(db, options, heard):
    # Built from the task in hand, not imported again by its path: the same result.
    task = enqueue._task("fetch_recording_task").using(**options)

    result = DatabaseBackend("default", {"QUEUES": ["calls", "default"]}).enqueue(task, [43], {})

    assert heard == [result]
    stored = DBTaskResult.objects.get(id=result.id).task_result
    assert result == stored
    assert result.task == stored.task and result.task.priority == options.get("priority", 0)
    assert result._return_value is None and result.args == [43] and result.kwargs == {}


def _by_lowered_id(rows, to, lowered_id):
    statuses = ["notStarted", "running"] if to == "completed" else ["notStarted"]
    return rows.filter(Exact(Lower("graph_id"), lowered_id), status__in=statuses)


def test_a_prepared_update_changes_and_returns_what_update_returning_does(operations):
    update = PreparedUpdate(RecordOperation, _by_lowered_id, returning=("id", "client_context"))
    changes = {"status": "completed", "result_code": 200, "result_message": "done"}

    moved = update.run(changes, shape=("completed",), args=(operations[0].graph_id.lower(),))
    expected = update_returning(
        _by_lowered_id(RecordOperation.objects.all(), "completed", operations[1].graph_id.lower()),
        changes,
        returning=("id", "client_context"),
    )

    assert moved == [(operations[0].pk, "context-0")]
    assert expected == [(operations[1].pk, "context-1")]
    first, second = (RecordOperation.objects.get(pk=op.pk) for op in operations[:2])
    assert (
        (first.status, first.result_code, first.result_message)
        == (
            second.status,
            second.result_code,
            second.result_message,
        )
        == ("completed", 200, "done")
    )


def test_a_prepared_update_binds_its_arguments_afresh_and_moves_nothing_twice(operations):
    update = PreparedUpdate(RecordOperation, _by_lowered_id, returning=("id",))
    changes = {"status": "completed"}

    first = update.run(changes, shape=("completed",), args=(operations[0].graph_id.lower(),))
    again = update.run(changes, shape=("completed",), args=(operations[0].graph_id.lower(),))
    other = update.run(changes, shape=("completed",), args=(operations[2].graph_id.lower(),))

    assert (first, again, other) == ([(operations[0].pk,)], [], [(operations[2].pk,)])
    assert len(update._statements) == 1
    assert RecordOperation.objects.get(pk=operations[1].pk).status == "running"


def test_a_where_that_changes_its_argument_is_not_prepared_and_still_right(operations):
    """A stand-in the filter transforms (here lowered) can't be bound as given: the update
    then goes through Django's compiler each time, with the same result."""

    def lowering(rows, lowered_id):
        return rows.filter(Exact(Lower("graph_id"), lowered_id.lower()))

    update = PreparedUpdate(RecordOperation, lowering, returning=("id",))
    moved = update.run({"status": "failed"}, args=(operations[3].graph_id.upper(),))

    assert moved == [(operations[3].pk,)]
    assert list(update._statements.values()) == [None]
    assert RecordOperation.objects.get(pk=operations[3].pk).status == "failed"


def test_choices_reach_the_driver_as_the_plain_values_they_stand_for(operations):
    # psycopg looks up how to send a str subclass through its classes on every statement: a
    # prepared statement hands it the plain str (or int) instead.
    sent = []

    def spy(execute, sql, params, many, context):
        sent.extend(params or ())
        return execute(sql, params, many, context)

    moves = PreparedUpdate(
        RecordOperation,
        lambda rows, context: rows.filter(client_context=context),
        returning=("status",),
    )
    with connection.execute_wrapper(spy):
        PreparedInsert(Recording).create(operation_id=operations[0].pk)
        moved = moves.run({"status": OperationStatus.COMPLETED}, args=("context-1",))

    assert moved == [("completed",)]
    assert list(moves._statements.values()) != [None]  # prepared, not left to the ORM
    assert "pending" in sent and "completed" in sent  # the Recording's default, the move
    assert not [value for value in sent if isinstance(value, Enum)]
    assert Recording.objects.get(operation=operations[0]).status == FetchStatus.PENDING


def test_plain_gives_a_choice_as_its_value_and_anything_else_as_it_is():
    assert type(plain(OperationStatus.FAILED)) is str
    assert plain(OperationStatus.FAILED) == "failed"
    assert type(plain(Priority.HIGH)) is int and plain(Priority.HIGH) == 2
    for value in ("failed", 3, None, b"\x00", ["completed"]):
        assert plain(value) is value


def test_a_where_whose_lookup_converts_its_argument_runs_through_the_orm(operations):
    # An integer lookup refuses the text stand-in the statement is compiled with.
    moves = PreparedUpdate(RecordOperation, lambda rows, pk: rows.filter(pk=pk), returning=("id",))

    for operation in operations[:2]:
        assert moves.run({"status": OperationStatus.FAILED}, args=(operation.pk,)) == [
            (operation.pk,)
        ]

    assert list(moves._statements.values()) == [None]
    assert sorted(RecordOperation.objects.filter(status="failed").values_list("pk", flat=True)) == [
        operations[0].pk,
        operations[1].pk,
    ]


def fields_of(instance) -> dict:
    return {
        field.attname: getattr(instance, field.attname) for field in type(instance)._meta.fields
    }


def test_the_instance_is_the_one_the_keyword_path_makes(operations):
    # Made positionally, as Django makes one from a row, when every name is an attribute.
    values = {"operation_id": operations[0].pk, "attempts": 2}
    positional = PreparedInsert(Recording)._instance(values)
    assert fields_of(positional) == fields_of(Recording(**values))
    assert positional._state.adding and positional._state.db is None

    notification = {"body": b"{}", "body_sha256": "0" * 64, "headers": {"a": "b"}}
    made = PreparedInsert(Notification)._instance(notification)
    assert fields_of(made) == fields_of(Notification(**notification))
    assert made.token_claims == {} and made.unmatched_operation_ids == []  # fresh defaults
    assert (
        made.unmatched_operation_ids
        is not PreparedInsert(Notification)._instance(notification).unmatched_operation_ids
    )


def test_a_related_object_by_its_name_takes_the_keyword_path(operations):
    insert = PreparedInsert(Recording)
    recording = insert.create(operation=operations[1])

    assert insert._layouts == {("operation",): None}
    assert recording.operation is operations[1]
    assert Recording.objects.get(pk=recording.pk).operation_id == operations[1].pk
