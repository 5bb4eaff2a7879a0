"""keepAlive: Graph ends a call that has had none for 45 minutes (408/8537); the emulator does
the same on its time scale."""

import time

from graph_emulator import background
from graph_emulator.models import Call
from tests.support.emulator import states

TIMEOUT = 50.0  # emulated seconds: 1 real second at the tests' scale


def call_path(call_id: str) -> str:
    return f"/emulator/v1.0/communications/calls/{call_id}"


def test_keep_alive_answers_200_with_no_body(graph, established):
    call_id = established()
    response = graph.post(f"{call_path(call_id)}/keepAlive")
    assert response.status_code == 200
    assert response.content == b""
    beta = graph.post(f"/emulator/beta/communications/calls/{call_id}/keepAlive")
    assert beta.status_code == 200


def test_a_call_without_keep_alive_ends_with_408_8537(graph, receiver, established, settings):
    call_id = established()
    settings.GRAPH_EMULATOR_KEEPALIVE_TIMEOUT = TIMEOUT
    receiver.wait_for(lambda ns: "terminated" in states(ns))
    terminated = receiver.notifications()[-1]
    assert terminated["changeType"] == "deleted"
    info = terminated["resourceData"]["resultInfo"]
    assert (info["code"], info["subcode"]) == (408, 8537)
    assert Call.objects.get(pk=call_id).ended_by == "keepalive"
    assert graph.post(f"{call_path(call_id)}/keepAlive").status_code == 404


def test_keep_alive_in_time_keeps_the_call(graph, receiver, established, settings):
    call_id = established()
    settings.GRAPH_EMULATOR_KEEPALIVE_TIMEOUT = TIMEOUT
    for _ in range(6):
        time.sleep(0.2)
        assert graph.post(f"{call_path(call_id)}/keepAlive").status_code == 200
    assert Call.objects.get(pk=call_id).state == "established"
    assert "terminated" not in states(receiver.notifications())


def test_an_overdue_call_is_ended_when_it_is_next_touched(graph, receiver, established, settings):
    call_id = established()
    # As if its watcher were gone (another process answered it).
    background.stop_watchers()
    settings.GRAPH_EMULATOR_KEEPALIVE_TIMEOUT = TIMEOUT
    time.sleep(1.2)
    assert graph.get(call_path(call_id)).status_code == 404
    receiver.wait_for(lambda ns: "terminated" in states(ns))
    assert Call.objects.get(pk=call_id).result_subcode == 8537
