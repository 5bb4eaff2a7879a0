"""A call outlives Graph's 45 minutes because Recorder keeps it alive, end to end: the
emulator ends a call that has had no keepAlive for 45 emulated minutes, as Graph does, and
Recorder's periodic keepAlive (the cron task's service) holds the call up past that twice
over. Without them the call ends, and Recorder says why."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from recordings.models import Call, CallState, GraphExchange
from recordings.services import calls as call_services

pytestmark = pytest.mark.e2e

# One emulated second lasts 2 ms: Graph's 45 minutes pass in 5.4 s.
FAST = 0.002
GRAPH_KEEPALIVE_WINDOW = 45 * 60 * FAST  # real seconds


@pytest.fixture
def fast_recorder(recorder):
    recorder.settings.GRAPH_EMULATOR_TIME_SCALE = FAST
    # Graph's 15 s to answer stay real seconds for the bot.
    recorder.settings.GRAPH_EMULATOR_ANSWER_TIMEOUT = 15 / FAST
    recorder.start_worker(GRAPH_EMULATOR_TIME_SCALE=str(FAST))
    return recorder


def an_answered_call(recorder) -> Call:
    call_id = recorder.ring("silence 3600")
    return recorder.wait_for_call(call_id, CallState.ESTABLISHED)


def cron_runs_later(settings) -> None:
    """What the keepAlive cron does when it next runs, GRAPH_KEEPALIVE_MINUTES after the last
    keepAlive: Recorder's clock is the wall's, the emulator's runs 500 times faster."""
    later = timezone.now() + timedelta(minutes=settings.GRAPH_KEEPALIVE_MINUTES)
    call_services.keep_calls_alive(now=later)


def test_a_call_kept_alive_outlives_45_emulated_minutes_twice_over(fast_recorder, settings):
    call = an_answered_call(fast_recorder)
    deadline = timezone.now() + timedelta(seconds=2.2 * GRAPH_KEEPALIVE_WINDOW)

    # Every 20 emulated minutes, as GRAPH_KEEPALIVE_MINUTES asks in real ones.
    while timezone.now() < deadline:
        cron_runs_later(settings)
        time.sleep(20 * 60 * FAST)

    call.refresh_from_db()
    assert call.state == CallState.ESTABLISHED, call.result_message
    kept = GraphExchange.objects.filter(call=call, action="keepAlive", response_status=200)
    assert kept.count() >= 4
    assert call.last_keepalive_at is not None


def test_a_call_left_without_keepalive_is_ended_by_graph_and_recorder_says_so(fast_recorder):
    call = an_answered_call(fast_recorder)

    ended = fast_recorder.wait_for_call(call.graph_id, CallState.TERMINATED)

    assert (ended.result_code, ended.result_subcode) == (408, 8537)
    assert ended.ended_by == Call.EndedBy.NO_KEEPALIVE
    assert ended.get_ended_by_display() == "Graph ended the call: no keepAlive for 45 minutes"
