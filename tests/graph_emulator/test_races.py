"""Cancel, natural completion and hang-up race for the same operation: exactly one wins and
exactly one completion is sent."""

import threading
import time

import pytest
from django.utils import timezone

from graph_emulator import background, services
from graph_emulator.engine import RecordParams, canceled, plan_recording
from graph_emulator.models import Call, CallState, Delivery, Operation
from graph_emulator.script import parse_script
from tests.support.emulator import completions, ending


def running_operation(call: Call):
    outcome = plan_recording(
        prompts=[], params=RecordParams(max_duration=2), script=parse_script("speak 3")
    )
    op = Operation.objects.create(
        call=call,
        profile=Operation.Profile.V1,
        recording_location="http://testserver/emulator/recordings/x",
        access_token="t",
        plan=outcome.to_json(),
        timeline_started_at=timezone.now(),
    )
    return op, outcome


@pytest.mark.parametrize("attempt", range(5))
def test_cancel_and_completion_racing_settle_once(emulator, receiver, attempt):
    call = services.place_call(script="speak 3", callback_url=receiver.url)
    Call.objects.filter(pk=call.pk).update(state=CallState.ESTABLISHED)
    op, natural = running_operation(call)
    barrier = threading.Barrier(3)
    wins = []

    def complete():
        barrier.wait()
        wins.append(("natural", services.finish_operation(op.id, natural)))

    def cancel():
        barrier.wait()
        wins.append(("cancel", services.finish_operation(op.id, canceled(1.0))))

    def hang_up():
        barrier.wait()
        wins.append(("hangup", services.finish_operation(op.id, services.outcome_at_hangup(op))))

    for work in (complete, cancel, hang_up):
        background.spawn(work, name=work.__name__)
    assert background.wait_idle(10)

    assert sorted(won for _, won in wins) == [False, False, True]
    winner = next(name for name, won in wins if won)
    op.refresh_from_db()
    expected = {"natural": "maxRecordDurationReached", "cancel": "operationCanceled"}
    assert op.completion_reason == expected.get(winner, "none")
    [delivery] = Delivery.objects.filter(operation_id=op.id)
    assert ending(delivery.payload["value"][0]["resourceData"]) == (op.completion_reason)
    # Only the winner's file is left behind.
    assert list(services.recordings_dir().glob("*.part")) == []


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.03, 0.04])
def test_cancel_over_http_near_the_natural_end_sends_one_completion(
    graph, receiver, established, delay
):
    call_id = established("speak 10")
    base = f"/emulator/v1.0/communications/calls/{call_id}"
    op = graph.post(f"{base}/recordResponse", {"maxRecordDurationInSeconds": 1}).json()
    time.sleep(delay)
    assert graph.post(f"{base}/cancelMediaProcessing", {}).status_code == 200
    assert background.wait_idle(5)
    [data] = completions(receiver.notifications())
    final = graph.get(f"{base}/operations/{op['id']}").json()
    assert ending(data) in ("maxRecordDurationReached", "operationCanceled")
    assert (final["status"], ending(final)) == (
        data["status"],
        ending(data),
    )


def test_a_recording_whose_runner_died_is_settled_when_its_call_is_touched(
    graph, receiver, established
):
    call_id = established("speak 1")
    op, _ = running_operation(Call.objects.get(pk=call_id))
    # As if the server restarted mid-recording: nothing is waiting for this plan any more.
    Operation.objects.filter(pk=op.pk).update(
        timeline_started_at=timezone.now() - timezone.timedelta(seconds=10)
    )
    assert graph.get(f"/emulator/v1.0/communications/calls/{call_id}").status_code == 200
    [data] = receiver.wait_for(completions)
    assert (data["id"], ending(data)) == (op.id, "maxRecordDurationReached")
