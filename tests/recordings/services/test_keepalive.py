"""keepAlive: Graph ends a call with none for 45 minutes, so Recorder sends one every
GRAPH_KEEPALIVE_MINUTES for each live call, from the scheduler, logged as an exchange."""

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from recordings import tasks
from recordings.models import Call, CallState, GraphExchange
from recordings.services import calls as call_services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("beta_profile")]


def keepalive_url(settings, call):
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/keepAlive"


def test_a_call_answered_longer_ago_than_the_interval_gets_a_logged_keepalive(
    graph_http, settings, call
):
    call.answered_at = timezone.now() - timedelta(minutes=settings.GRAPH_KEEPALIVE_MINUTES + 1)
    call.save()
    graph_http.add(responses.POST, keepalive_url(settings, call), status=200)

    assert call_services.keep_calls_alive() == [call]

    (sent,) = [c for c in graph_http.calls if c.request.url.endswith("/keepAlive")]
    assert sent.request.method == "POST" and not sent.request.body
    call.refresh_from_db()
    assert call.last_keepalive_at is not None
    exchange = GraphExchange.objects.get(action="keepAlive")
    assert (exchange.call, exchange.response_status) == (call, 200)


def test_a_call_kept_alive_within_the_interval_gets_none_until_the_interval_has_passed(
    graph_http, settings, call
):
    now = timezone.now()
    call.answered_at = now - timedelta(hours=2)
    call.last_keepalive_at = now - timedelta(minutes=5)
    call.save()
    graph_http.add(responses.POST, keepalive_url(settings, call), status=200)

    assert call_services.keep_calls_alive(now=now) == []
    later = now + timedelta(minutes=settings.GRAPH_KEEPALIVE_MINUTES)
    assert call_services.keep_calls_alive(now=later) == [call]


def test_the_interval_sits_inside_graphs_window_with_the_schedulers_lateness(settings):
    # The scheduler runs every 5 minutes: a keepAlive is at most that late, under 45 minutes.
    assert settings.GRAPH_KEEPALIVE_MINUTES >= 15
    assert settings.GRAPH_KEEPALIVE_MINUTES + 5 < 45


def test_ended_and_ringing_calls_get_no_keepalive(graph_http, settings, call):
    old = timezone.now() - timedelta(hours=1)
    Call.objects.filter(pk=call.pk).update(state=CallState.TERMINATED, answered_at=old)
    Call.objects.create(graph_id="ringing-call", state=CallState.INCOMING)
    Call.objects.filter(graph_id="ringing-call").update(created_at=old)
    assert call_services.keep_calls_alive() == []
    assert not graph_http.calls


def test_a_refused_keepalive_is_logged_and_tried_again_at_the_next_run(graph_http, settings, call):
    call.answered_at = timezone.now() - timedelta(hours=1)
    call.save()
    graph_http.add(
        responses.POST,
        keepalive_url(settings, call),
        status=404,
        json={"error": {"code": "8522", "message": "Call not found"}},
    )
    assert call_services.keep_calls_alive() == []
    call.refresh_from_db()
    assert call.last_keepalive_at is None
    assert GraphExchange.objects.get(action="keepAlive").response_status == 404


def test_the_scheduler_runs_the_keepalives_every_five_minutes_on_the_default_queue():
    from crontask import scheduler

    jobs = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert jobs[tasks.keep_calls_alive_task.name].endswith("minute='*/5']")
    assert tasks.keep_calls_alive_task.queue_name == "default"
