"""Closing the operations Graph never finishes: Graph's word first, then Recorder's."""

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from recordings.graph import parse_operation
from recordings.models import CallState
from recordings.services import operations as operation_services
from tests.support.graph import graph_fixture, operation_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("beta_profile")]


def test_an_operation_on_an_ended_call_is_closed_by_recorder_after_the_grace_period(
    graph_http, settings, call, make_operation
):
    operation = make_operation()
    call.state = CallState.TERMINATED
    call.ended_at = timezone.now() - timedelta(seconds=settings.RECORDER_CLOSE_GRACE_SECONDS + 1)
    call.save()
    graph_http.add(
        responses.GET,
        operation_url(settings, call),
        status=404,
        json={"error": {"code": "8522", "message": "Call not found"}},
    )
    closed = operation_services.close_abandoned_operations()
    assert closed == [operation]
    operation.refresh_from_db()
    assert operation.status == "failed"
    assert operation.recorder_reason == "callEnded"
    assert operation.completion_reason == ""  # Graph's reasons stay Graph's
    assert "Closed by Recorder" in operation.completion_reason_label


def test_an_operation_is_left_alone_within_the_grace_period(graph_http, call, make_operation):
    operation = make_operation()
    call.state = CallState.TERMINATED
    call.ended_at = timezone.now()
    call.save()
    assert operation_services.close_abandoned_operations() == []
    operation.refresh_from_db()
    assert operation.status == "running"


def test_graphs_own_answer_wins_over_closing_when_a_notification_was_lost(
    graph_http, settings, call, make_operation
):
    operation = make_operation()
    later = timezone.now() + timedelta(hours=1)
    data = graph_fixture("v1.0/notification-completed")["value"][0]["resourceData"]
    graph_http.add(responses.GET, operation_url(settings, call), json=data)
    assert operation_services.close_abandoned_operations(now=later) == [operation]
    operation.refresh_from_db()
    assert operation.status == "completed"
    assert operation.completion_reason == "maxRecordDurationReached"
    assert operation.recorder_reason == ""


def test_an_overdue_operation_graph_cannot_account_for_is_closed_as_overdue(
    graph_http, settings, call, make_operation
):
    operation = make_operation()
    graph_http.add(
        responses.GET,
        operation_url(settings, call),
        status=404,
        json={"error": {"code": "8522", "message": "Call not found"}},
    )
    not_yet = operation_services.overdue_after(operation) - timedelta(seconds=1)
    assert operation_services.close_abandoned_operations(now=not_yet) == []
    operation_services.close_abandoned_operations(now=operation_services.overdue_after(operation))
    operation.refresh_from_db()
    assert (operation.status, operation.recorder_reason) == ("failed", "overdue")


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ({"code": 200, "subcode": 8515}, "maxRecordDurationReached"),
        ({"code": 200, "subcode": 8511}, "stopToneDetected"),
        ({"code": 400, "subcode": 8508}, "operationCanceled"),
    ],
)
def test_a_v1_completion_without_a_completion_reason_is_read_from_its_result_info(
    call, make_operation, result, reason
):
    operation = make_operation()
    data = dict(graph_fixture("v1.0/notification-completed")["value"][0]["resourceData"])
    data.pop("completionReason", None)
    data["resultInfo"] = {**result, "message": "Action completed."}
    data["status"] = "completed" if result["code"] == 200 else "failed"
    moved = operation_services.advance_operation(
        type(operation).objects.filter(pk=operation.pk), parse_operation(data)
    )
    assert moved
    operation.refresh_from_db()
    assert operation.completion_reason == reason
    assert (operation.result_code, operation.result_subcode) == (result["code"], result["subcode"])


def test_a_completion_with_neither_a_reason_nor_a_known_code_shows_no_made_up_reason(
    call, make_operation
):
    operation = make_operation()
    parsed = parse_operation(
        {"id": operation.graph_id, "status": "completed", "resultInfo": {"code": 200, "subcode": 1}}
    )
    operation_services.advance_operation(type(operation).objects.filter(pk=operation.pk), parsed)
    operation.refresh_from_db()
    assert (operation.status, operation.completion_reason) == ("completed", "")
