"""Each fault switch, set through the Python helper or the control endpoint."""

import time

import pytest

from graph_emulator import background
from graph_emulator.faults import FaultError, active_faults, clear_faults, set_faults
from graph_emulator.models import Delivery, Operation
from tests.support.emulator import completions, ending, recording_path, states


def call_path(call_id: str, version: str = "v1.0") -> str:
    return f"/emulator/{version}/communications/calls/{call_id}"


def record(graph, call_id, **body):
    response = graph.post(f"{call_path(call_id)}/recordResponse", body)
    assert response.status_code == 200, response.content
    return response.json()


def test_throttle_answers_429_with_a_fractional_retry_after(graph, established):
    call_id = established()
    set_faults(throttle={"count": 2, "retry_after": 0.5})
    for _ in range(2):
        response = graph.get(call_path(call_id))
        assert response.status_code == 429
        assert response["Retry-After"] == "0.5"
        assert response.json()["error"]["code"] == "TooManyRequests"
        assert response["request-id"]
    assert graph.get(call_path(call_id)).status_code == 200
    assert active_faults()["throttle"]["remaining"] == 0


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "InternalServerError"), (503, "ServiceUnavailable"), (504, "GatewayTimeout")],
)
def test_server_error_answers_the_chosen_5xx(graph, established, status, code):
    call_id = established()
    set_faults(server_error={"count": 1, "status": status})
    response = graph.get(call_path(call_id))
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert graph.get(call_path(call_id)).status_code == 200


def test_slow_delays_the_answer(graph, established):
    call_id = established()
    set_faults(slow={"seconds": 0.2, "count": 1})
    started = time.monotonic()
    assert graph.get(call_path(call_id)).status_code == 200
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    graph.get(call_path(call_id))
    assert time.monotonic() - started < 0.2


def test_faults_do_not_touch_the_token_endpoint(graph, client):
    set_faults(throttle={"count": 5})
    from tests.support.emulator import fetch_token

    assert fetch_token(client)


def test_duplicate_notifications_posts_each_twice(graph, receiver, established):
    set_faults(duplicate_notifications=True)
    established()
    assert background.wait_idle(5)
    assert states(receiver.notifications()) == [
        "incoming",
        "incoming",
        "establishing",
        "establishing",
        "established",
        "established",
    ]
    assert Delivery.objects.filter(duplicate=True).count() == 3


def test_reorder_delivers_established_before_establishing(graph, receiver, established):
    set_faults(reorder_notifications={"hold_seconds": 30})
    established()
    assert background.wait_idle(5)
    assert states(receiver.notifications()) == ["incoming", "established", "establishing"]


def test_reorder_can_put_a_completion_before_an_earlier_update(graph, receiver, established):
    call_id = established("speak 1; hangup")
    set_faults(reorder_notifications={"hold_seconds": 10}, complete_on_hangup=True)
    record(graph, call_id, maxRecordDurationInSeconds=30)
    assert background.wait_idle(5)
    # The completion was held until the call's next notification: terminating went first.
    order = [
        n["resourceData"].get("state") or ending(n["resourceData"])
        for n in receiver.notifications()
    ]
    assert order == [
        "incoming",
        "establishing",
        "established",
        "terminating",
        "none",
        "terminated",
    ]


def test_a_held_notification_is_released_after_its_hold(graph, receiver, established):
    call_id = established("speak 1; press #")
    set_faults(reorder_notifications={"hold_seconds": 0.5})
    record(graph, call_id, stopTones=["#"])
    [data] = receiver.wait_for(completions)
    assert ending(data) == "stopToneDetected"


def test_drop_notifications_never_delivers_the_next_ones(graph, receiver, established):
    set_faults(drop_notifications={"count": 1})
    established()
    assert background.wait_idle(5)
    assert states(receiver.notifications()) == ["establishing", "established"]
    dropped = Delivery.objects.get(status="dropped")
    assert dropped.summary == "call created (incoming)"


def test_by_default_a_hang_up_loses_the_completion_but_not_the_call_notifications(
    graph, receiver, established
):
    call_id = established("speak 1; hangup")
    op = record(graph, call_id, maxRecordDurationInSeconds=30)
    receiver.wait_for(lambda ns: "terminated" in states(ns))
    assert background.wait_idle(5)
    assert completions(receiver.notifications()) == []
    settled = Operation.objects.get(pk=op["id"])
    assert (settled.status, settled.completion_reason) == ("completed", "none")
    assert Delivery.objects.get(operation_id=op["id"]).status == "dropped"


def test_expire_links_makes_recordings_expire_at_once(graph, receiver, established):
    set_faults(expire_links=True)
    call_id = established("speak 1; press #")
    record(graph, call_id, stopTones=["#"])
    [data] = receiver.wait_for(completions)
    response = graph.get(
        recording_path(data["recordingLocation"]), token=data["recordingAccessToken"]
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "itemNotFound"


def test_beep_fails_fails_the_operation(graph, receiver, established):
    set_faults(beep_fails=True)
    call_id = established()
    record(graph, call_id)
    [data] = receiver.wait_for(completions)
    assert (data["status"], ending(data)) == ("failed", "playBeepFailed")


def test_media_error_fails_the_operation(graph, receiver, established):
    set_faults(media_error=True)
    call_id = established()
    record(graph, call_id)
    [data] = receiver.wait_for(completions)
    assert (data["status"], ending(data)) == ("failed", "unspecifiedError")
    assert data["resultInfo"]["code"] == 500


def test_stall_fails_with_media_receive_timeout(graph, receiver, established):
    call_id = established("speak 1; stall")
    record(graph, call_id, maxRecordDurationInSeconds=60)
    [data] = receiver.wait_for(completions)
    assert (data["status"], ending(data)) == ("failed", "mediaReceiveTimeout")


def test_the_control_endpoint_sets_reads_and_clears(client, emulator):
    response = client.post(
        "/emulator/control/faults",
        {"throttle": {"count": 3, "retry_after": 0.25}, "beep_fails": True},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "beep_fails": {},
        "throttle": {"retry_after": 0.25, "remaining": 3},
    }
    assert client.get("/emulator/control/faults").json() == response.json()
    client.post("/emulator/control/faults", {"beep_fails": False}, content_type="application/json")
    assert set(client.get("/emulator/control/faults").json()) == {"throttle"}
    assert client.delete("/emulator/control/faults").status_code == 204
    assert client.get("/emulator/control/faults").json() == {}
    bad = client.post(
        "/emulator/control/faults",
        {"server_error": {"status": 418}},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "500, 503, 504" in bad.json()["error"]["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "switches",
    [{"nonsense": True}, {"throttle": {"count": 0}}, {"slow": {"seconds": "a"}}, {"drop": 1}],
)
def test_bad_switches_are_refused(switches):
    with pytest.raises(FaultError):
        set_faults(**switches)


@pytest.mark.django_db
def test_clear_faults_clears_one_or_all():
    set_faults(beep_fails=True, media_error=True)
    clear_faults("beep_fails")
    assert set(active_faults()) == {"media_error"}
    clear_faults()
    assert active_faults() == {}


def test_complete_on_hangup_sends_the_partial_recording_s_completion(graph, receiver, established):
    set_faults(complete_on_hangup=True)
    call_id = established("speak 1; hangup")
    op = record(graph, call_id, maxRecordDurationInSeconds=30)
    receiver.wait_for(lambda ns: "terminated" in states(ns))
    [data] = receiver.wait_for(completions)
    assert (data["id"], data["status"]) == (op["id"], "completed")
    assert data["resultInfo"]["subcode"] == 8518
