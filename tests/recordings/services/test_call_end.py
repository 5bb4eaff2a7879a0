"""A hang-up during a recording: Graph sends no completion, the call's end is its only word.
Recorder closes the operation within seconds and says who ended the call."""

import copy
import json
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from recordings.graph import parse_operation
from recordings.models import Call, CallState, GraphExchange, Recording
from recordings.services import calls as call_services
from recordings.services import notifications as notification_services
from recordings.services import operations as operation_services
from tests.support.graph import graph_fixture, operation_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("beta_profile")]

CALLER_LEFT = (200, 5002)
BOT_ENDED = (7000, 10550)
NO_KEEPALIVE = (408, 8537)


def terminate(call, code_subcode, capture):
    """Apply Graph's deleted/terminated notification for the call, with this resultInfo."""
    payload = copy.deepcopy(graph_fixture("v1.0/notification-call-terminated"))
    info = payload["value"][0]["resourceData"]["resultInfo"]
    info["code"], info["subcode"] = code_subcode
    row = notification_services.store_notification(
        body=json.dumps(payload).encode(), headers={}, remote_addr=None, claims={}
    )
    with capture(execute=True):
        notification_services.apply_notification(row)
    call.refresh_from_db()


def graph_has_no_such_operation(graph_http, settings, call, op_id=None):
    kwargs = {"op_id": op_id} if op_id else {}
    graph_http.add(
        responses.GET,
        operation_url(settings, call, **kwargs),
        status=404,
        json={"error": {"code": "8522", "message": "Call not found"}},
    )


def test_a_hang_up_closes_the_recording_within_seconds_of_the_terminated_notification(
    graph_http, settings, call, make_operation, django_capture_on_commit_callbacks
):
    from django.tasks import default_task_backend

    operation = make_operation()
    graph_has_no_such_operation(graph_http, settings, call)
    ended = timezone.now()
    terminate(call, CALLER_LEFT, django_capture_on_commit_callbacks)

    (scheduled,) = default_task_backend.results
    assert scheduled.task.name == "close_abandoned_operations_task"
    assert scheduled.task.run_after - ended <= timedelta(seconds=5)
    closed = operation_services.close_abandoned_operations(now=scheduled.task.run_after)
    assert closed == [operation]
    operation.refresh_from_db()
    assert (operation.status, operation.recorder_reason) == ("failed", "callerHungUp")
    assert operation.completion_reason_label == "The caller hung up"
    # Graph was asked first: its own word would have won.
    assert any(c.request.method == "GET" for c in graph_http.calls)


def test_the_call_that_ended_says_who_ended_it(
    graph_http, call, django_capture_on_commit_callbacks
):
    terminate(call, NO_KEEPALIVE, django_capture_on_commit_callbacks)
    assert call.ended_by == Call.EndedBy.NO_KEEPALIVE
    assert call.get_ended_by_display() == "Graph ended the call: no keepAlive for 45 minutes"
    assert call.end_code.startswith("408/8537")


@pytest.mark.parametrize(
    ("code", "ended_by"),
    [
        (CALLER_LEFT, "caller"),
        ((200, 5001), "caller"),
        (BOT_ENDED, "operator"),
        (NO_KEEPALIVE, "noKeepAlive"),
        ((500, 9999), "other"),
    ],
)
def test_who_ended_the_call_is_read_from_graphs_call_end_codes(call, code, ended_by):
    call.result_code, call.result_subcode = code
    assert call_services.who_ended(call) == ended_by


def test_a_hang_up_recorder_sent_itself_makes_the_operator_the_one_who_ended_the_call(
    graph_http, settings, call, make_operation, django_capture_on_commit_callbacks
):
    operation = make_operation()
    GraphExchange.objects.create(
        call=call,
        action="hang up",
        method="DELETE",
        url="http://graph.test/calls/x",
        client_request_id="7c0e8b40-7d45-4a1e-8f43-8a0d1b1e2a11",
        response_status=204,
    )
    graph_has_no_such_operation(graph_http, settings, call)
    terminate(call, CALLER_LEFT, django_capture_on_commit_callbacks)
    assert call.ended_by == "operator"
    operation_services.close_abandoned_operations(now=timezone.now() + timedelta(seconds=10))
    operation.refresh_from_db()
    assert operation.completion_reason_label == "An operator ended the call"


def test_a_cut_short_recording_with_a_known_location_is_closed_completed_and_fetched(
    graph_http, settings, call, make_operation, django_capture_on_commit_callbacks
):
    operation = make_operation(recording_location="https://media.test/rec/1.wav")
    graph_has_no_such_operation(graph_http, settings, call)
    terminate(call, CALLER_LEFT, django_capture_on_commit_callbacks)
    operation_services.close_abandoned_operations(now=timezone.now() + timedelta(seconds=10))
    operation.refresh_from_db()
    assert (operation.status, operation.recorder_reason) == ("completed", "callerHungUp")
    assert Recording.objects.filter(operation=operation).exists()


def test_a_queued_recording_the_call_end_cut_short_is_closed_too(
    graph_http, settings, call, make_operation, django_capture_on_commit_callbacks
):
    queued = make_operation(graph_id="a2c0ffee-0000-4000-8000-000000000002", status="notStarted")
    graph_has_no_such_operation(graph_http, settings, call, op_id=queued.graph_id)
    terminate(call, BOT_ENDED, django_capture_on_commit_callbacks)
    operation_services.close_abandoned_operations(now=timezone.now() + timedelta(seconds=10))
    queued.refresh_from_db()
    assert (queued.status, queued.recorder_reason) == ("failed", "operatorEnded")


def test_graphs_none_is_shown_as_how_the_call_ended(
    graph_http, call, make_operation, django_capture_on_commit_callbacks
):
    operation = make_operation()
    operation_services.advance_operation(
        type(operation).objects.filter(pk=operation.pk),
        parse_operation(
            {"id": operation.graph_id, "status": "completed", "completionReason": "none"}
        ),
    )
    operation.refresh_from_db()
    assert "None" not in operation.completion_reason_label
    terminate(call, CALLER_LEFT, django_capture_on_commit_callbacks)
    operation.refresh_from_db()
    assert operation.completion_reason == "none"  # Graph's word stays as it came
    assert operation.completion_reason_label == "The caller hung up"


def test_a_call_that_ends_with_nothing_running_schedules_nothing(
    graph_http, call, django_capture_on_commit_callbacks
):
    from django.tasks import default_task_backend

    terminate(call, CALLER_LEFT, django_capture_on_commit_callbacks)
    assert call.state == CallState.TERMINATED
    assert not default_task_backend.results
