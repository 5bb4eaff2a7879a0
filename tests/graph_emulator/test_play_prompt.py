"""playPrompt: a running playPromptOperation, queued like record, completing as a deleted
notification with resultInfo 200/0."""

import pytest

from graph_emulator import audio
from graph_emulator.models import Operation
from tests.support.graph import graph_fixture


def plays(notifications: list[dict]) -> list[dict]:
    return [
        n
        for n in notifications
        if n["resourceData"]["@odata.type"] == "#microsoft.graph.playPromptOperation"
    ]


def prompt_body(receiver, ms: int = 300) -> dict:
    receiver.files[f"/tone-{ms}.wav"] = audio.tone_wav(ms)
    body = graph_fixture("v1.0/playPrompt-request")
    body["prompts"][0]["mediaInfo"]["uri"] = f"{receiver.base}/tone-{ms}.wav"
    return body


def test_play_prompt_answers_running_then_completes_200_0(graph, receiver, established):
    call_id = established()
    path = f"/emulator/v1.0/communications/calls/{call_id}/playPrompt"
    response = graph.post(path, prompt_body(receiver))
    assert response.status_code == 200, response.content
    op = response.json()
    sample = graph_fixture("v1.0/playPrompt-response")
    assert set(op) == set(sample)
    assert (op["@odata.type"], op["status"], op["resultInfo"]) == (
        "#microsoft.graph.playPromptOperation",
        "running",
        None,
    )
    assert response["Location"].endswith(
        f"/v1.0/communications/calls/{call_id}/operations/{op['id']}"
    )
    [notification] = receiver.wait_for(plays)
    documented = graph_fixture("v1.0/playPrompt-notification-completed")["value"][0]
    assert set(notification) == set(documented)
    assert set(notification["resourceData"]) == set(documented["resourceData"])
    assert notification["changeType"] == "deleted"
    data = notification["resourceData"]
    assert (data["id"], data["status"]) == (op["id"], "completed")
    assert data["resultInfo"] == documented["resourceData"]["resultInfo"]
    played = Operation.objects.get(pk=op["id"])
    assert played.plan["ends_at"] == pytest.approx(0.3)
    assert played.recording_file == ""


def test_play_prompt_queues_behind_a_record(graph, receiver, established):
    call_id = established("speak 1; press #")
    base = f"/emulator/v1.0/communications/calls/{call_id}"
    record = graph.post(f"{base}/recordResponse", {"stopTones": ["#"]}).json()
    play = graph.post(f"{base}/playPrompt", prompt_body(receiver)).json()
    receiver.wait_for(plays)
    first, second = (Operation.objects.get(pk=o["id"]) for o in (record, play))
    assert second.timeline_started_at >= first.completed_at


def test_play_prompt_needs_prompts(graph, established):
    call_id = established()
    response = graph.post(f"/emulator/v1.0/communications/calls/{call_id}/playPrompt", {})
    assert response.status_code == 400
    assert "prompts must be a list" in response.json()["error"]["message"]
