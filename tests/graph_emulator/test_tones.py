"""subscribeToTone: after it, each key the caller presses is a call `updated` notification
carrying toneInfo."""

from graph_emulator import background
from tests.support.graph import graph_fixture


def tones(notifications: list[dict]) -> list[dict]:
    return [n for n in notifications if "toneInfo" in n["resourceData"]]


def test_subscribe_to_tone_answers_a_completed_operation(graph, established):
    call_id = established()
    path = f"/emulator/v1.0/communications/calls/{call_id}/subscribeToTone"
    response = graph.post(path, graph_fixture("v1.0/subscribeToTone-request"))
    assert response.status_code == 200, response.content
    body = response.json()
    sample = graph_fixture("v1.0/subscribeToTone-response")
    assert set(body) == set(sample)
    assert (body["@odata.type"], body["status"]) == (sample["@odata.type"], "completed")
    assert body["resultInfo"] == sample["resultInfo"]
    assert "/operations/" in response["Location"]


def test_each_key_arrives_as_a_tone_notification(graph, receiver, established):
    call_id = established("speak 0.5; press 1*#d; speak 0.5")
    base = f"/emulator/v1.0/communications/calls/{call_id}"
    assert graph.post(f"{base}/subscribeToTone", {}).status_code == 200
    graph.post(f"{base}/recordResponse", {"maxSilenceTimeoutInSeconds": 1})
    found = receiver.wait_for(lambda ns: len(tones(ns)) == 4 and tones(ns))
    sample = graph_fixture("v1.0/notification-call-tone")["value"][0]
    assert set(found[0]) == set(sample)
    assert set(found[0]["resourceData"]) == set(sample["resourceData"])
    assert [n["changeType"] for n in found] == ["updated"] * 4
    assert [n["resourceData"]["toneInfo"]["tone"] for n in found] == [
        "tone1",
        "star",
        "pound",
        "d",
    ]
    assert [n["resourceData"]["toneInfo"]["sequenceId"] for n in found] == [1, 2, 3, 4]


def test_keys_reach_no_bot_that_did_not_subscribe(graph, receiver, established):
    call_id = established("press 12; speak 0.5")
    graph.post(
        f"/emulator/v1.0/communications/calls/{call_id}/recordResponse",
        {"maxSilenceTimeoutInSeconds": 1},
    )
    assert background.wait_idle(5)
    assert tones(receiver.notifications()) == []
