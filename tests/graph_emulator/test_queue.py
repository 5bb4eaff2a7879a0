"""Media operations on one call queue: the next starts when the running one ends;
bargeInAllowed cuts in; cancelMediaProcessing cancels the running one and all queued."""

from graph_emulator import background
from graph_emulator.models import Operation
from tests.support.emulator import completions, ending


def record(graph, call_id, **body):
    path = f"/emulator/v1.0/communications/calls/{call_id}/recordResponse"
    response = graph.post(path, body)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_second_record_queues_and_starts_when_the_first_ends(graph, receiver, established):
    call_id = established("speak 1; press #")
    first = record(graph, call_id, stopTones=["#"])
    second = record(graph, call_id, stopTones=["#"])
    # The POST answers running, as Graph's documented answer does, queued or not.
    assert second["status"] == "running"
    done = receiver.wait_for(lambda ns: len(completions(ns)) == 2 and completions(ns))
    assert [d["id"] for d in done] == [first["id"], second["id"]]
    assert [ending(d) for d in done] == ["stopToneDetected", "stopToneDetected"]
    one, two = (Operation.objects.get(pk=d["id"]) for d in (first, second))
    assert two.timeline_started_at >= one.completed_at


def test_barge_in_cancels_what_runs_and_starts_at_once(graph, receiver, established):
    call_id = established("speak 100")
    first = record(graph, call_id, maxRecordDurationInSeconds=120)
    queued = record(graph, call_id, maxRecordDurationInSeconds=120)
    barging = record(graph, call_id, maxRecordDurationInSeconds=1, bargeInAllowed=True)
    done = receiver.wait_for(lambda ns: len(completions(ns)) == 3 and completions(ns))
    by_id = {d["id"]: d for d in done}
    assert ending(by_id[first["id"]]) == ending(by_id[queued["id"]]) == "operationCanceled"
    assert ending(by_id[barging["id"]]) == "maxRecordDurationReached"


def test_cancel_media_processing_cancels_the_running_and_the_queued(graph, receiver, established):
    call_id = established("speak 100")
    ops = [record(graph, call_id, maxRecordDurationInSeconds=120) for _ in range(3)]
    path = f"/emulator/v1.0/communications/calls/{call_id}/cancelMediaProcessing"
    assert graph.post(path, {}).status_code == 200
    assert background.wait_idle(5)
    done = completions(receiver.notifications())
    assert sorted(d["id"] for d in done) == sorted(op["id"] for op in ops)
    assert {(d["status"], ending(d)) for d in done} == {("failed", "operationCanceled")}
    queued = Operation.objects.get(pk=ops[2]["id"])
    assert queued.timeline_started_at is None  # it never started
