"""Prompts played without recording, and the keys the caller presses (subscribeToTone)."""

import json

import pytest
import responses

from recordings.models import CallState, CallTone, MediaOperation
from recordings.prompt_files import public_url
from recordings.services import calls as call_services
from recordings.services import media as media_services
from recordings.services import notifications as notification_services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("beta_profile")]

PLAY_ID = "b1c0ffee-0000-4000-8000-000000000001"


def call_url(settings, call, action):
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/{action}"


def deliver(*items):
    row = notification_services.store_notification(
        body=json.dumps({"value": list(items)}).encode(), headers={}, remote_addr=None, claims={}
    )
    return notification_services.apply_notification(row)


def play_prompt_deleted(call, op_id=PLAY_ID):
    return {
        "changeType": "deleted",
        "resourceUrl": f"/communications/calls/{call.graph_id}/operations/{op_id}",
        "resourceData": {
            "@odata.type": "#microsoft.graph.playPromptOperation",
            "id": op_id,
            "status": "completed",
            "resultInfo": {"code": 200, "subcode": 0, "message": "Action completed"},
        },
    }


def tone_pressed(call, sequence_id, tone):
    return {
        "changeType": "updated",
        "resourceUrl": f"/communications/calls/{call.graph_id}",
        "resourceData": {
            "@odata.type": "#microsoft.graph.call",
            "state": "established",
            "toneInfo": {"sequenceId": sequence_id, "tone": tone},
        },
    }


def test_a_library_prompt_is_played_and_completes_by_its_deleted_notification(
    graph_http, settings, call, welcome
):
    graph_http.add(
        responses.POST,
        call_url(settings, call, "playPrompt"),
        json={
            "@odata.type": "#microsoft.graph.playPromptOperation",
            "id": PLAY_ID,
            "status": "running",
        },
    )
    operation = media_services.play_prompt(call=call, prompt=welcome, by=None)

    (sent,) = [c for c in graph_http.calls if c.request.url.endswith("/playPrompt")]
    body = json.loads(sent.request.body)
    assert body["prompts"] == [
        {"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": public_url(welcome)}}
    ]
    assert body["clientContext"] == operation.client_context != ""
    assert (operation.kind, operation.status) == ("playPrompt", "running")

    notification = deliver(play_prompt_deleted(call))

    operation.refresh_from_db()
    assert (operation.status, operation.result_code, operation.result_subcode) == (
        "completed",
        200,
        0,
    )
    assert notification.matched and not notification.error


def test_a_play_prompt_completion_that_comes_before_graphs_answer_waits_for_it(
    graph_http, settings, call, welcome
):
    early = deliver(play_prompt_deleted(call))
    assert not early.matched
    graph_http.add(
        responses.POST,
        call_url(settings, call, "playPrompt"),
        json={"id": PLAY_ID, "status": "running"},
    )
    operation = media_services.play_prompt(call=call, prompt=welcome, by=None)
    operation.refresh_from_db()
    assert operation.status == "completed"


def ringing_and_answerable(graph_http, settings, call):
    """`call` rings, and Graph accepts its answer."""
    call.state = CallState.INCOMING
    call.save()
    graph_http.add(responses.POST, call_url(settings, call, "answer"), status=202)


def test_answering_subscribes_to_the_callers_keys(graph_http, settings, call):
    ringing_and_answerable(graph_http, settings, call)
    graph_http.add(
        responses.POST,
        call_url(settings, call, "subscribeToTone"),
        json={"id": "tones-op", "status": "completed"},
    )
    assert call_services.answer_call(call=call)
    subscribed = MediaOperation.objects.get(kind="subscribeToTone")
    assert subscribed.status == "completed"
    (sent,) = [c for c in graph_http.calls if c.request.url.endswith("/subscribeToTone")]
    assert "clientContext" in json.loads(sent.request.body)


def test_a_refused_subscription_does_not_undo_the_answer(graph_http, settings, call):
    ringing_and_answerable(graph_http, settings, call)
    graph_http.add(
        responses.POST,
        call_url(settings, call, "subscribeToTone"),
        status=404,
        json={"error": {"code": "NotFound", "message": "No such action."}},
    )
    assert call_services.answer_call(call=call) is True
    assert not MediaOperation.objects.exists()


def test_each_key_the_caller_presses_is_kept_once_by_its_sequence_id(call):
    deliver(tone_pressed(call, 1, "tone5"), tone_pressed(call, 2, "pound"))
    deliver(tone_pressed(call, 2, "pound"))  # Graph delivered it again
    assert list(CallTone.objects.values_list("sequence_id", "tone")) == [
        (1, "tone5"),
        (2, "pound"),
    ]
