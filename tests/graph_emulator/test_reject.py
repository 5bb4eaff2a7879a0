"""reject: the bot turns an incoming call down; the call ends with a terminated notification."""

from graph_emulator import services
from graph_emulator.models import Call
from tests.support.emulator import states
from tests.support.graph import graph_fixture


def ringing(receiver) -> Call:
    call = services.place_call(script="speak 1", callback_url=receiver.url)
    services.announce_call(call, wait=True)
    return call


def test_reject_answers_202_and_the_call_terminates(graph, receiver):
    call = ringing(receiver)
    body = {**graph_fixture("v1.0/reject-request"), "callbackUri": receiver.url}
    response = graph.post(f"/emulator/v1.0/communications/calls/{call.id}/reject", body)
    assert response.status_code == 202
    receiver.wait_for(lambda ns: "terminated" in states(ns))
    terminated = receiver.notifications()[-1]
    sample = graph_fixture("v1.0/notification-call-rejected")["value"][0]
    assert set(terminated) == set(sample)
    assert set(terminated["resourceData"]) == set(sample["resourceData"])
    assert terminated["changeType"] == "deleted"
    assert terminated["resourceData"]["resultInfo"] == sample["resourceData"]["resultInfo"]
    assert Call.objects.get(pk=call.id).ended_by == "rejected"
    again = graph.post(f"/emulator/v1.0/communications/calls/{call.id}/answer", {})
    assert again.status_code == 404


def test_reject_without_a_reason_is_603(graph, receiver):
    call = ringing(receiver)
    response = graph.post(f"/emulator/beta/communications/calls/{call.id}/reject", {})
    assert response.status_code == 202
    receiver.wait_for(lambda ns: "terminated" in states(ns))
    assert Call.objects.get(pk=call.id).result_code == 603


def test_reject_refuses_an_unknown_reason_and_an_answered_call(graph, receiver, established):
    call = ringing(receiver)
    path = f"/emulator/v1.0/communications/calls/{call.id}/reject"
    bad = graph.post(path, {"reason": "later"})
    assert bad.status_code == 400
    assert "reason must be one of none, busy, forbidden" in bad.json()["error"]["message"]
    call_id = established()
    answered = graph.post(f"/emulator/v1.0/communications/calls/{call_id}/reject", {})
    assert answered.status_code == 400
    assert "only an incoming call can be rejected" in answered.json()["error"]["message"]
