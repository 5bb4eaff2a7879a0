"""Answering and hanging up calls, and what a call's end sets off."""

import json

import pytest
import responses
from django.utils import timezone

from recordings.models import CallState
from recordings.services import calls as call_services
from recordings.services import errors as service_errors
from recordings.services import notifications as notification_services
from tests.support.graph import graph_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("beta_profile")]


def test_an_incoming_call_is_answered_with_service_hosted_media(graph_http, settings, call):
    call.state = CallState.INCOMING
    call.save()
    url = f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/answer"
    graph_http.add(responses.POST, url, status=202)
    assert call_services.answer_call(call=call) is True
    (answer,) = [c for c in graph_http.calls if c.request.url == url]
    body = json.loads(answer.request.body)
    assert body["callbackUri"] == settings.NOTIFICATION_URL
    assert body["mediaConfig"] == {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}
    assert body["acceptedModalities"] == ["audio"]


def test_answering_a_call_that_is_no_longer_incoming_sends_nothing(graph_http, call):
    assert call_services.answer_call(call=call) is False
    assert not [c for c in graph_http.calls if c.request.url.endswith("/answer")]


def test_hang_up_deletes_the_call(graph_http, settings, call):
    url = f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}"
    graph_http.add(responses.DELETE, url, status=204)
    call_services.hang_up(call=call)
    assert graph_http.calls[-1].request.method == "DELETE"


def test_hanging_up_an_ended_call_is_refused_as_a_call_action(graph_http, call):
    call.state = CallState.TERMINATED
    call.save()
    with pytest.raises(service_errors.CallActionRefused, match="already ended") as refused:
        call_services.hang_up(call=call)
    assert not isinstance(refused.value, service_errors.RecordingRefused)
    assert not [c for c in graph_http.calls if c.request.method == "DELETE"]


def test_a_call_ending_with_a_running_recording_schedules_the_close_after_the_grace(
    graph_http, call, make_operation, django_capture_on_commit_callbacks
):
    from django.tasks import default_task_backend

    make_operation()
    payload = graph_fixture("v1.0/notification-call-terminated")
    row = notification_services.store_notification(
        body=json.dumps(payload).encode(), headers={}, remote_addr=None, claims={}
    )
    with django_capture_on_commit_callbacks(execute=True):
        notification_services.apply_notification(row)
    (scheduled,) = default_task_backend.results
    assert scheduled.task.name == "close_abandoned_operations_task"
    assert scheduled.task.run_after > timezone.now()
