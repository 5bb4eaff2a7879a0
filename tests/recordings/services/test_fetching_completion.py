"""A completion's three writes as one statement (fetch_services.complete_expecting_recording).

On PostgreSQL, with the database task backend, the operation's move, its Recording row and
the queued fetch are one data-modifying WITH. Each test here holds what a completion leaves
behind, on the database the suite runs on (CI runs it on SQLite and on PostgreSQL); the
side-by-side ones hold the folded statement's rows beside the three statements' rows.
"""

import json

import pytest
from django.db import IntegrityError, connection
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from recordings.models import Recording, RecordOperation
from recordings.services import fetching as fetch_services
from recordings.services import notifications as notification_services
from tests.support.graph import graph_fixture
from tests.support.tasks import use_task_backend

FIXTURE_OPERATION = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"
FOLDED = "folded"
ONE_BY_ONE = "one by one"

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a data-modifying WITH is PostgreSQL's"
)


@pytest.fixture(autouse=True)
def _database_tasks(settings):
    use_task_backend(settings)


def completion(graph_id: str, **changes) -> bytes:
    payload = graph_fixture("v1.0/notification-completed")
    data = payload["value"][0]["resourceData"]
    data.update(changes)
    return json.dumps(payload).replace(FIXTURE_OPERATION, graph_id).encode()


def receive(body: bytes) -> list[str]:
    """Take `body` as the webhook does; the statements it sent."""
    with CaptureQueriesContext(connection) as queries:
        notification_services.receive_notification(
            body=body, headers={}, remote_addr=None, claims={}
        )
    return [query["sql"] for query in queries.captured_queries]


def writes(statements: list[str]) -> list[str]:
    """Each write as its verb and table: 'UPDATE "t"', 'INSERT "t"', 'WITH ... UPDATE "t"'."""
    shown = []
    for sql in statements:
        words = sql.replace("INSERT INTO", "INSERT").split()
        if words[0] in ("UPDATE", "INSERT"):
            shown.append(" ".join(words[:2]))
        elif words[0] == "WITH":
            shown.append("WITH " + " ".join(words[3:5]).lstrip("("))
    return shown


def one_by_one(monkeypatch) -> None:
    monkeypatch.setattr(fetch_services, "complete_expecting_recording", lambda *a, **k: None)


def test_a_completion_makes_its_recording_and_queues_its_fetch_once(make_operation, heard):
    operation = make_operation(graph_id=FIXTURE_OPERATION)

    receive(completion(FIXTURE_OPERATION))
    receive(completion(FIXTURE_OPERATION))  # Graph delivers it again

    operation.refresh_from_db()
    recording = Recording.objects.get()
    assert operation.status == "completed" and recording.operation_id == operation.pk
    task = DBTaskResult.objects.get()
    assert task.args_kwargs == {"args": [recording.pk], "kwargs": {}}
    assert task.task_path == "recordings.tasks.fetch_recording_task"
    assert [(result.id, result.args) for result in heard] == [(str(task.id), [recording.pk])]


@on_postgresql
def test_on_postgresql_the_three_writes_are_one_statement(make_operation):
    make_operation(graph_id=FIXTURE_OPERATION)

    statements = receive(completion(FIXTURE_OPERATION))

    assert writes(statements) == [
        'WITH UPDATE "recordings_recordoperation"',
        'INSERT "recordings_notification"',
    ]
    assert Recording.objects.count() == DBTaskResult.objects.count() == 1


@on_postgresql
def test_the_folded_rows_are_the_rows_the_three_statements_make(make_operation, monkeypatch):
    folded = make_operation(graph_id="11111111-0000-4000-8000-000000000001", client_context="a")
    separate = make_operation(graph_id="11111111-0000-4000-8000-000000000002", client_context="b")
    receive(completion(folded.graph_id))
    one_by_one(monkeypatch)
    receive(completion(separate.graph_id))

    def columns(row, *mine):
        return {
            field.attname: getattr(row, field.attname)
            for field in type(row)._meta.concrete_fields
            if field.name not in {"id", "created_at", "updated_at", "enqueued_at", *mine}
        }

    folded.refresh_from_db()
    separate.refresh_from_db()
    own = {"graph_id", "client_context", "finished_at", "record_request"}
    assert columns(folded, *own) == columns(separate, *own)
    recordings = {r.operation_id: r for r in Recording.objects.all()}
    assert columns(recordings[folded.pk], "operation") == columns(
        recordings[separate.pk], "operation"
    )
    tasks = {row.args_kwargs["args"][0]: row for row in DBTaskResult.objects.all()}
    assert columns(tasks[recordings[folded.pk].pk], "args_kwargs") == columns(
        tasks[recordings[separate.pk].pk], "args_kwargs"
    )
    assert tasks[recordings[folded.pk].pk].args_kwargs == {
        "args": [recordings[folded.pk].pk],
        "kwargs": {},
    }
    # The times are the moment's, as create() gives them.
    recording = recordings[folded.pk]
    assert folded.created_at < recording.created_at <= recording.updated_at
    assert recordings[separate.pk].created_at > recording.updated_at


def test_a_completion_without_a_recording_location_makes_no_recording(make_operation, heard):
    operation = make_operation(graph_id=FIXTURE_OPERATION)

    receive(completion(FIXTURE_OPERATION, recordingLocation=None))

    operation.refresh_from_db()
    assert operation.status == "completed"
    assert not Recording.objects.exists() and not DBTaskResult.objects.exists()
    assert heard == []


def test_a_receiver_of_the_recordings_saves_hears_it(make_operation):
    make_operation(graph_id=FIXTURE_OPERATION)
    saved = []

    def listener(sender, instance, created, **kwargs):
        saved.append((instance.pk, created))

    post_save.connect(listener, sender=Recording)
    try:
        statements = receive(completion(FIXTURE_OPERATION))
    finally:
        post_save.disconnect(listener, sender=Recording)

    assert saved == [(Recording.objects.get().pk, True)]
    assert 'INSERT "recordings_recording"' in writes(statements)


def test_a_receiver_of_the_task_rows_saves_hears_it(make_operation):
    make_operation(graph_id=FIXTURE_OPERATION)
    saving = []

    def listener(sender, instance, **kwargs):
        saving.append(instance.args_kwargs)

    pre_save.connect(listener, sender=DBTaskResult)
    try:
        statements = receive(completion(FIXTURE_OPERATION))
    finally:
        pre_save.disconnect(listener, sender=DBTaskResult)

    assert saving == [{"args": [Recording.objects.get().pk], "kwargs": {}}]
    assert 'INSERT "django_tasks_database_dbtaskresult"' in writes(statements)


def test_another_task_backend_is_told_after_the_commit(make_operation, settings, heard):
    use_task_backend(settings, "django.tasks.backends.dummy.DummyBackend")
    make_operation(graph_id=FIXTURE_OPERATION)

    statements = receive(completion(FIXTURE_OPERATION))

    assert writes(statements)[:2] == [
        'UPDATE "recordings_recordoperation"',
        'INSERT "recordings_recording"',
    ]
    assert not DBTaskResult.objects.exists()


def test_a_second_recording_for_one_operation_is_refused_loudly(make_operation):
    operation = make_operation(graph_id=FIXTURE_OPERATION)
    Recording.objects.create(operation=operation)  # a row the operation should not have yet

    with pytest.raises(IntegrityError):
        receive(completion(FIXTURE_OPERATION))

    # Nothing of the completion stays but the stored POST and why it failed.
    operation.refresh_from_db()
    assert operation.status == "running"
    assert Recording.objects.count() == 1 and not DBTaskResult.objects.exists()
    assert "IntegrityError" in notification_services.Notification.objects.get().error


def test_an_unknown_operation_moves_nothing_and_queues_nothing(make_operation, heard):
    make_operation(graph_id=FIXTURE_OPERATION)

    receive(completion("22222222-0000-4000-8000-000000000009"))

    assert RecordOperation.objects.get().status == "running"
    assert not Recording.objects.exists() and not DBTaskResult.objects.exists() and heard == []
