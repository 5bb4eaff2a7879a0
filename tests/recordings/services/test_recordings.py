"""Starting and cancelling a recording, against Graph faked at the HTTP seam."""

import json

import pytest
import requests
import responses
from django.utils import timezone

from recordings.graph import PromptSpec, RecordSpec
from recordings.models import CallState, GraphExchange, RecordOperation, RecordRequest
from recordings.services import errors as service_errors
from recordings.services import notifications as notification_services
from recordings.services import recordings as recording_services
from tests.support.graph import OP_ID, SPEC, graph_fixture, record_url, running

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("beta_profile")]


def test_start_recording_sends_exactly_the_chosen_fields_and_saves_the_running_operation(
    graph_http, settings, call
):
    graph_http.add(
        responses.POST,
        record_url(settings, call, "beta-record"),
        json=running(),
        headers={"request-id": "graph-req-1"},
    )
    operation = recording_services.start_recording(call=call, spec=SPEC)

    sent = json.loads(graph_http.calls[-1].request.body)
    assert sent == {
        "prompts": [
            {"@odata.type": "#microsoft.graph.silencePrompt", "duration": 500},
            {
                "@odata.type": "#microsoft.graph.mediaPrompt",
                "mediaInfo": {"uri": "https://cdn.contoso.com/beep.wav"},
                "loop": 2,
            },
        ],
        "stopTones": ["#"],
        "maxRecordDurationInSeconds": 30,
        "clientContext": "ctx",
    }
    assert graph_http.calls[-1].request.headers["Authorization"] == "Bearer app-token"
    assert operation.graph_id == OP_ID
    assert operation.status == "running"
    request = operation.record_request
    assert request.status == "accepted"
    assert request.body_sent == sent
    assert request.graph_request_id == "graph-req-1"
    assert (
        str(request.client_request_id) == graph_http.calls[-1].request.headers["client-request-id"]
    )
    assert [p.kind for p in request.prompts.all()] == ["silence", "media"]
    exchange = GraphExchange.objects.get(record_request=request)
    assert exchange.operation == operation
    assert exchange.response_status == 200


def test_start_recording_uses_record_response_on_the_v1_profile(
    graph_http, settings, call, v1_profile
):
    graph_http.add(
        responses.POST,
        record_url(settings, call, "v1.0"),
        json=graph_fixture("v1.0/recordResponse-response"),
        headers={"Location": f"/communications/calls/{call.graph_id}/operations/{OP_ID}"},
    )
    spec = RecordSpec(prompts=(PromptSpec(kind="media", uri="https://cdn.contoso.com/beep.wav"),))
    operation = recording_services.start_recording(call=call, spec=spec)
    assert operation.graph_id == OP_ID
    assert operation.client_context == "d45324c1-fcb5-430a-902c-f20af696537c"


def test_a_blank_client_context_is_filled_with_a_fresh_one(graph_http, settings, call):
    graph_http.add(responses.POST, record_url(settings, call, "beta-record"), json=running())
    recording_services.start_recording(call=call, spec=RecordSpec(prompts=()))
    sent = json.loads(graph_http.calls[-1].request.body)
    assert len(sent["clientContext"]) == 36
    assert RecordRequest.objects.get().client_context == sent["clientContext"]


def test_a_request_breaking_the_profile_limits_is_refused_before_anything_is_sent(
    graph_http, call, v1_profile
):
    spec = RecordSpec(
        prompts=(PromptSpec(kind="silence", duration_ms=500),), max_record_duration=600
    )
    with pytest.raises(service_errors.RecordingRefused) as refused:
        recording_services.start_recording(call=call, spec=spec)
    assert set(refused.value.errors) >= {"prompts", "max_record_duration"}
    assert not [c for c in graph_http.calls if "record" in c.request.url.lower()]
    assert RecordRequest.objects.count() == 0


def test_an_ended_call_cannot_be_recorded(graph_http, call):
    call.state = CallState.TERMINATED
    call.save()
    with pytest.raises(service_errors.RecordingRefused, match="only a live call"):
        recording_services.start_recording(call=call, spec=SPEC)


def test_graph_refusing_keeps_the_request_with_the_error_and_says_what_to_do(
    graph_http, settings, call
):
    graph_http.add(
        responses.POST,
        record_url(settings, call, "beta-record"),
        status=404,
        json={
            "error": {
                "code": "8522",
                "message": "Call not found",
                "innerError": {"request-id": "req-404"},
            }
        },
    )
    with pytest.raises(service_errors.GraphActionFailed) as failed:
        recording_services.start_recording(call=call, spec=SPEC)
    assert "8522" in failed.value.message
    request = RecordRequest.objects.get()
    assert request.status == "refused"
    assert request.response_status == 404
    assert request.error_code == "8522"
    assert request.graph_request_id == "req-404"
    assert RecordOperation.objects.count() == 0
    assert GraphExchange.objects.get(record_request=request).response_status == 404


def test_graph_unreachable_keeps_the_request_as_an_error(graph_http, settings, call):

    graph_http.add(
        responses.POST,
        record_url(settings, call, "beta-record"),
        body=requests.ConnectionError("connection refused"),
    )
    with pytest.raises(service_errors.GraphActionFailed):
        recording_services.start_recording(call=call, spec=SPEC)
    request = RecordRequest.objects.get()
    assert request.status == "error"
    assert request.response_status is None
    assert request.error_message


def test_a_completion_that_arrived_before_graphs_answer_is_applied_when_the_operation_appears(
    graph_http, settings, call, django_capture_on_commit_callbacks
):
    payload = graph_fixture("v1.0/notification-completed")
    early = notification_services.store_notification(
        body=json.dumps(payload).encode(), headers={}, remote_addr=None, claims={}
    )
    notification_services.apply_notification(early)
    early.refresh_from_db()
    assert early.matched is False

    graph_http.add(responses.POST, record_url(settings, call, "beta-record"), json=running())
    operation = recording_services.start_recording(call=call, spec=SPEC)
    assert operation.status == "completed"
    assert operation.completion_reason == "maxRecordDurationReached"
    early.refresh_from_db()
    assert early.matched is True
    assert early.unmatched_operation_ids == []


def test_cancel_asks_graph_to_cancel_media_processing(graph_http, settings, make_operation, call):
    operation = make_operation()
    url = (
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/cancelMediaProcessing"
    )
    graph_http.add(responses.POST, url, json={"id": "c1", "status": "completed"})
    recording_services.cancel_recording(operation=operation)
    assert json.loads(graph_http.calls[-1].request.body) == {
        "clientContext": operation.client_context
    }
    operation.refresh_from_db()
    # Graph's failed/operationCanceled notification ends it, not the cancel call itself.
    assert operation.status == "running"


def test_cancelling_a_finished_recording_is_refused(graph_http, make_operation):
    operation = make_operation(status="completed", finished_at=timezone.now())
    with pytest.raises(service_errors.RecordingRefused):
        recording_services.cancel_recording(operation=operation)


def test_a_cancel_graph_accepts_remembers_who_asked(
    graph_http, settings, make_operation, call, django_user_model
):
    operation = make_operation()
    url = (
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/cancelMediaProcessing"
    )
    graph_http.add(responses.POST, url, json={"id": "c1", "status": "completed"})
    alice = django_user_model.objects.create_user("alice")
    recording_services.cancel_recording(operation=operation, by=alice)
    operation.refresh_from_db()
    assert operation.cancelled_by == "alice"


def test_a_second_recording_on_a_call_with_one_running_is_refused_before_graph_hears_of_it(
    graph_http, make_operation, call
):
    make_operation(status="running")
    with pytest.raises(service_errors.RecordingRefused) as refused:
        recording_services.start_recording(call=call, spec=RecordSpec())
    assert "before recording again" in refused.value.errors["call"][0]
    assert not [c for c in graph_http.calls if "/calls/" in c.request.url]
