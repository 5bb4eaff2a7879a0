import json
from datetime import timedelta
from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command
from django.utils import timezone

from recordings import services
from recordings.graph import PromptSpec, RecordSpec
from recordings.management.commands.record import parse_prompt
from recordings.models import Call, GraphExchange, Notification, RecordOperation, RecordRequest
from tests.conftest import contract_sample

pytestmark = pytest.mark.django_db

OP_ID = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"


def record_url(settings, call, profile):
    if profile == "beta-record":
        return f"{settings.GRAPH_API_BASE_URL}/app/calls/{call.graph_id}/record"
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/recordResponse"


@pytest.fixture(autouse=True)
def beta_profile(settings):
    settings.GRAPH_API_PROFILE = "beta-record"
    settings.GRAPH_API_BASE_URL = "http://graph.test/beta"


@pytest.fixture
def v1_profile(settings):
    settings.GRAPH_API_PROFILE = "v1.0"
    settings.GRAPH_API_BASE_URL = "http://graph.test/v1.0"


def running(op_id=OP_ID, context="ctx"):
    return {"id": op_id, "status": "running", "clientContext": context}


SPEC = RecordSpec(
    prompts=(
        PromptSpec(kind="silence", duration_ms=500),
        PromptSpec(kind="media", uri="https://cdn.contoso.com/beep.wav", loop=2),
    ),
    stop_tones=("#",),
    max_record_duration=30,
    client_context="ctx",
)


def test_start_recording_sends_exactly_the_chosen_fields_and_saves_the_running_operation(
    graph_http, settings, call
):
    graph_http.add(
        responses.POST,
        record_url(settings, call, "beta-record"),
        json=running(),
        headers={"request-id": "graph-req-1"},
    )
    operation = services.start_recording(call=call, spec=SPEC)

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
        json=contract_sample("v1.0/recordResponse-response"),
        headers={"Location": f"/communications/calls/{call.graph_id}/operations/{OP_ID}"},
    )
    spec = RecordSpec(prompts=(PromptSpec(kind="media", uri="https://cdn.contoso.com/beep.wav"),))
    operation = services.start_recording(call=call, spec=spec)
    assert operation.graph_id == OP_ID
    assert operation.client_context == "d45324c1-fcb5-430a-902c-f20af696537c"


def test_a_blank_client_context_is_filled_with_a_fresh_one(graph_http, settings, call):
    graph_http.add(responses.POST, record_url(settings, call, "beta-record"), json=running())
    services.start_recording(call=call, spec=RecordSpec(prompts=()))
    sent = json.loads(graph_http.calls[-1].request.body)
    assert len(sent["clientContext"]) == 36
    assert RecordRequest.objects.get().client_context == sent["clientContext"]


def test_a_request_breaking_the_profile_limits_is_refused_before_anything_is_sent(
    graph_http, call, v1_profile
):
    spec = RecordSpec(
        prompts=(PromptSpec(kind="silence", duration_ms=500),), max_record_duration=600
    )
    with pytest.raises(services.RecordingRefused) as refused:
        services.start_recording(call=call, spec=spec)
    assert set(refused.value.errors) >= {"prompts", "max_record_duration"}
    assert not [c for c in graph_http.calls if "record" in c.request.url.lower()]
    assert RecordRequest.objects.count() == 0


def test_an_ended_call_cannot_be_recorded(graph_http, call):
    call.state = Call.State.TERMINATED
    call.save()
    with pytest.raises(services.RecordingRefused, match="only a live call"):
        services.start_recording(call=call, spec=SPEC)


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
    with pytest.raises(services.GraphActionFailed) as failed:
        services.start_recording(call=call, spec=SPEC)
    assert "8522" in failed.value.message
    request = RecordRequest.objects.get()
    assert request.status == "refused"
    assert request.response_status == 404
    assert request.error_code == "8522"
    assert request.graph_request_id == "req-404"
    assert RecordOperation.objects.count() == 0
    assert GraphExchange.objects.get(record_request=request).response_status == 404


def test_graph_unreachable_keeps_the_request_as_an_error(graph_http, settings, call):
    import requests

    graph_http.add(
        responses.POST,
        record_url(settings, call, "beta-record"),
        body=requests.ConnectionError("connection refused"),
    )
    with pytest.raises(services.GraphActionFailed):
        services.start_recording(call=call, spec=SPEC)
    request = RecordRequest.objects.get()
    assert request.status == "error"
    assert request.response_status is None
    assert request.error_message


def test_a_completion_that_arrived_before_graphs_answer_is_applied_when_the_operation_appears(
    graph_http, settings, call, django_capture_on_commit_callbacks
):
    payload = contract_sample("v1.0/notification-completed")
    early = services.store_notification(
        body=json.dumps(payload).encode(), headers={}, remote_addr=None, claims={}
    )
    services.apply_notification(early)
    early.refresh_from_db()
    assert early.matched is False

    graph_http.add(responses.POST, record_url(settings, call, "beta-record"), json=running())
    operation = services.start_recording(call=call, spec=SPEC)
    assert operation.status == "completed"
    assert operation.completion_reason == "maxRecordDurationReached"
    early.refresh_from_db()
    assert early.matched is True
    assert early.unmatched_operation_ids == []


# --- Answering, cancelling, hanging up ------------------------------------------------------


def test_an_incoming_call_is_answered_with_service_hosted_media(graph_http, settings, call):
    call.state = Call.State.INCOMING
    call.save()
    url = f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/answer"
    graph_http.add(responses.POST, url, status=202)
    assert services.answer_call(call=call) is True
    body = json.loads(graph_http.calls[-1].request.body)
    assert body["callbackUri"] == settings.NOTIFICATION_URL
    assert body["mediaConfig"] == {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}
    assert body["acceptedModalities"] == ["audio"]


def test_answering_a_call_that_is_no_longer_incoming_sends_nothing(graph_http, call):
    assert services.answer_call(call=call) is False
    assert not [c for c in graph_http.calls if c.request.url.endswith("/answer")]


def test_cancel_asks_graph_to_cancel_media_processing(graph_http, settings, make_operation, call):
    operation = make_operation()
    url = (
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/cancelMediaProcessing"
    )
    graph_http.add(responses.POST, url, json={"id": "c1", "status": "completed"})
    services.cancel_recording(operation=operation)
    assert json.loads(graph_http.calls[-1].request.body) == {
        "clientContext": operation.client_context
    }
    operation.refresh_from_db()
    # Graph's failed/operationCanceled notification ends it, not the cancel call itself.
    assert operation.status == "running"


def test_cancelling_a_finished_recording_is_refused(graph_http, make_operation):
    operation = make_operation(status="completed", finished_at=timezone.now())
    with pytest.raises(services.RecordingRefused):
        services.cancel_recording(operation=operation)


def test_hang_up_deletes_the_call(graph_http, settings, call):
    url = f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}"
    graph_http.add(responses.DELETE, url, status=204)
    services.hang_up(call=call)
    assert graph_http.calls[-1].request.method == "DELETE"


# --- Operations Graph never finishes --------------------------------------------------------


def operation_url(settings, call, op_id=OP_ID):
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/operations/{op_id}"


def test_an_operation_on_an_ended_call_is_closed_by_recorder_after_the_grace_period(
    graph_http, settings, call, make_operation
):
    operation = make_operation()
    call.state = Call.State.TERMINATED
    call.ended_at = timezone.now() - timedelta(seconds=settings.RECORDER_CLOSE_GRACE_SECONDS + 1)
    call.save()
    graph_http.add(
        responses.GET,
        operation_url(settings, call),
        status=404,
        json={"error": {"code": "8522", "message": "Call not found"}},
    )
    closed = services.close_abandoned_operations()
    assert closed == [operation]
    operation.refresh_from_db()
    assert operation.status == "failed"
    assert operation.recorder_reason == "callEnded"
    assert operation.completion_reason == ""  # Graph's reasons stay Graph's
    assert "Closed by Recorder" in operation.completion_reason_label


def test_an_operation_is_left_alone_within_the_grace_period(graph_http, call, make_operation):
    operation = make_operation()
    call.state = Call.State.TERMINATED
    call.ended_at = timezone.now()
    call.save()
    assert services.close_abandoned_operations() == []
    operation.refresh_from_db()
    assert operation.status == "running"


def test_graphs_own_answer_wins_over_closing_when_a_notification_was_lost(
    graph_http, settings, call, make_operation
):
    operation = make_operation()
    later = timezone.now() + timedelta(hours=1)
    data = contract_sample("v1.0/notification-completed")["value"][0]["resourceData"]
    graph_http.add(responses.GET, operation_url(settings, call), json=data)
    assert services.close_abandoned_operations(now=later) == [operation]
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
    not_yet = services.overdue_after(operation) - timedelta(seconds=1)
    assert services.close_abandoned_operations(now=not_yet) == []
    services.close_abandoned_operations(now=services.overdue_after(operation))
    operation.refresh_from_db()
    assert (operation.status, operation.recorder_reason) == ("failed", "overdue")


def test_a_call_ending_with_a_running_recording_schedules_the_close_after_the_grace(
    graph_http, call, make_operation, django_capture_on_commit_callbacks
):
    from django.tasks import default_task_backend

    make_operation()
    payload = contract_sample("v1.0/notification-call-terminated")
    row = services.store_notification(
        body=json.dumps(payload).encode(), headers={}, remote_addr=None, claims={}
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.apply_notification(row)
    (scheduled,) = default_task_backend.results
    assert scheduled.task.name == "close_abandoned_operations_task"
    assert scheduled.task.run_after > timezone.now()


# --- The record command ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("silence:1500", PromptSpec(kind="silence", duration_ms=1500)),
        (
            "media:https://cdn.example/p.wav",
            PromptSpec(kind="media", uri="https://cdn.example/p.wav"),
        ),
        (
            "media:http://127.0.0.1:8000/p.wav:3",
            PromptSpec(kind="media", uri="http://127.0.0.1:8000/p.wav", loop=3),
        ),
        (
            "media:http://127.0.0.1:8000/p.wav",
            PromptSpec(kind="media", uri="http://127.0.0.1:8000/p.wav"),
        ),
    ],
)
def test_the_record_command_reads_prompts(value, expected):
    assert parse_prompt(value) == expected


@pytest.mark.parametrize("value", ["silence:soon", "video:x", "media:"])
def test_the_record_command_explains_a_bad_prompt(value):
    with pytest.raises(CommandError, match="--prompt"):
        parse_prompt(value)


def test_the_record_command_prints_the_operation_id(graph_http, settings, call):
    settings.GRAPH_API_PROFILE = "beta-record"
    graph_http.add(responses.POST, record_url(settings, call, "beta-record"), json=running())
    out = StringIO()
    call_command(
        "record",
        call.graph_id,
        "--prompt",
        "silence:300",
        "--stop-tone",
        "#",
        "--max-duration",
        "10",
        "--no-beep",
        stdout=out,
    )
    assert out.getvalue().strip().splitlines()[-1] == OP_ID
    sent = json.loads(graph_http.calls[-1].request.body)
    assert sent["playBeep"] is False
    assert sent["stopTones"] == ["#"]
    assert "bargeInAllowed" not in sent


def test_the_record_command_waits_and_prints_the_final_status_last(
    graph_http, settings, call, monkeypatch
):
    graph_http.add(responses.POST, record_url(settings, call, "beta-record"), json=running())
    data = contract_sample("v1.0/notification-completed")["value"][0]["resourceData"]
    graph_http.add(responses.GET, operation_url(settings, call), json=data)
    out = StringIO()
    call_command("record", call.graph_id, "--wait", "--timeout", "0.3", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "completed maxRecordDurationReached"


def test_the_record_command_refuses_an_unknown_call(db):
    with pytest.raises(CommandError, match="knows no call"):
        call_command("record", "nope")


def test_the_record_command_explains_a_refusal(graph_http, call):
    with pytest.raises(CommandError, match="not sent"):
        call_command("record", call.graph_id, "--stop-tone", "X")


def test_notification_rows_keep_their_bytes(db):
    row = services.store_notification(body=b"\xff\xfe", headers={}, remote_addr=None, claims={})
    assert bytes(Notification.objects.get(pk=row.pk).body) == b"\xff\xfe"
