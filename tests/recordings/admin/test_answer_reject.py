"""With AUTO_ANSWER off, a ringing call waits for an operator: Answer or Reject."""

import json

import pytest
import responses
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse

from recordings.models import CallState
from recordings.services import calls as call_services
from recordings.services import errors as service_errors
from tests.support.operators import VIEW_CALL, operator

pytestmark = pytest.mark.django_db


@pytest.fixture
def ringing(call, settings):
    settings.AUTO_ANSWER = False
    call.state = CallState.INCOMING
    call.save()
    return call


def page(call, name="change"):
    return reverse(f"admin:recordings_call_{name}", args=[call.pk])


def call_url(settings, call, action):
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/{action}"


def graph_posts(graph_http):
    return [c for c in graph_http.calls if "/communications/calls/" in c.request.url]


def test_a_ringing_call_offers_answer_and_reject_to_an_operator_with_both_permissions(ringing):
    html = operator(VIEW_CALL, "answer_call", "reject_call").get(page(ringing)).content.decode()
    assert f'href="{page(ringing, "answer")}"' in html
    assert f'href="{page(ringing, "reject")}"' in html


def test_answer_and_reject_each_need_their_permission(ringing):
    client = operator(VIEW_CALL)
    html = client.get(page(ringing)).content.decode()
    assert page(ringing, "answer") not in html and page(ringing, "reject") not in html
    assert client.post(page(ringing, "answer")).status_code == 403
    assert client.post(page(ringing, "reject"), {"reason": "busy"}).status_code == 403


def test_with_auto_answer_on_a_ringing_call_offers_neither(ringing, settings):
    settings.AUTO_ANSWER = True
    html = operator(VIEW_CALL, "answer_call", "reject_call").get(page(ringing)).content.decode()
    assert page(ringing, "answer") not in html and page(ringing, "reject") not in html


def test_answering_asks_first_then_answers_and_logs_who_did(ringing, graph_http, settings):
    graph_http.add(responses.POST, call_url(settings, ringing, "answer"), status=202)
    client = operator(VIEW_CALL, "answer_call")
    assert "Yes, answer" in client.get(page(ringing, "answer")).content.decode()
    assert not graph_posts(graph_http)

    response = client.post(page(ringing, "answer"))

    assert response.status_code == 302
    (sent,) = [c for c in graph_posts(graph_http) if c.request.url.endswith("/answer")]
    assert json.loads(sent.request.body)["callbackUri"] == settings.NOTIFICATION_URL
    entry = LogEntry.objects.get()
    assert (entry.action_flag, entry.change_message) == (CHANGE, "Answered the call.")
    assert entry.user == client.user


def test_reject_asks_for_the_reason_and_sends_it(ringing, graph_http, settings):
    graph_http.add(responses.POST, call_url(settings, ringing, "reject"), status=202)
    client = operator(VIEW_CALL, "reject_call")
    question = client.get(page(ringing, "reject")).content.decode()
    for reason in ("none", "busy", "forbidden"):
        assert f'name="reason" value="{reason}"' in question

    client.post(page(ringing, "reject"), {"reason": "busy"})

    (sent,) = graph_posts(graph_http)
    assert json.loads(sent.request.body) == {
        "reason": "busy",
        "callbackUri": settings.NOTIFICATION_URL,
    }
    assert LogEntry.objects.get().change_message == "Rejected the call (busy)."


def test_an_unknown_reject_reason_is_refused_and_nothing_is_sent(ringing, graph_http):
    with pytest.raises(service_errors.CallActionRefused, match="Pick a reason"):
        call_services.reject_call(call=ringing, reason="maybe", by=None)
    assert not graph_posts(graph_http)


def test_a_call_that_no_longer_rings_cannot_be_answered_or_rejected(ringing, graph_http):
    ringing.state = CallState.ESTABLISHED
    ringing.save()
    client = operator(VIEW_CALL, "answer_call", "reject_call")
    html = client.get(page(ringing)).content.decode()
    assert page(ringing, "answer") not in html
    client.post(page(ringing, "reject"), {"reason": "none"})
    client.post(page(ringing, "answer"))
    assert not graph_posts(graph_http)
    assert not LogEntry.objects.exists()


def test_a_prompt_is_played_from_the_call_page_and_shows_on_its_timeline(
    call, graph_http, settings, welcome
):
    from recordings.models import CallTone

    graph_http.add(
        responses.POST,
        call_url(settings, call, "playPrompt"),
        json={"id": "b1c0ffee-0000-4000-8000-000000000001", "status": "running"},
    )
    client = operator(VIEW_CALL, "play_prompt")
    assert f'href="{page(call, "play_prompt")}"' in client.get(page(call)).content.decode()
    question = client.get(page(call, "play_prompt")).content.decode()
    assert f'name="prompt" value="{welcome.pk}"' in question

    client.post(page(call, "play_prompt"), {"prompt": str(welcome.pk)})

    assert [c.request.url for c in graph_posts(graph_http)] == [
        call_url(settings, call, "playPrompt")
    ]
    assert LogEntry.objects.get().change_message == "Played the prompt “Welcome”."
    CallTone.objects.create(call=call, sequence_id=1, tone="pound")
    html = client.get(page(call)).content.decode()
    assert "Played a prompt “Welcome”: Running" in html
    assert "The caller pressed #" in html


def test_playing_a_prompt_needs_its_permission(call, welcome):
    client = operator(VIEW_CALL)
    assert page(call, "play_prompt") not in client.get(page(call)).content.decode()
    assert client.post(page(call, "play_prompt"), {"prompt": str(welcome.pk)}).status_code == 403
