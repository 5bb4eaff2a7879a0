"""Record → notification → download, over the emulator's real HTTP surface, with a stand-in
bot receiving the notifications."""

import io
import time
import wave

import jwt
import pytest
from django.conf import settings

from graph_emulator import audio, background
from graph_emulator.faults import set_faults
from graph_emulator.models import Call, Delivery, Operation
from tests.support.emulator import completions, ending, recording_path, states
from tests.support.graph import graph_fixture

# Graph's documented v1.0 completion, which names no completionReason.
V1_COMPLETION_KEYS = set(
    graph_fixture("v1.0/notification-completed-as-documented")["value"][0]["resourceData"]
)


def record_v1(graph, call_id, **body):
    response = graph.post(f"/emulator/v1.0/communications/calls/{call_id}/recordResponse", body)
    assert response.status_code == 200, response.content
    return response.json()


def download(graph, location, token):
    return graph.get(recording_path(location), token=token)


def read_wav(response) -> wave._wave_params:
    data = b"".join(response.streaming_content)
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getparams()


def test_v1_record_completes_with_a_signed_notification_and_a_wav(graph, receiver, established):
    call_id = established("silence 1; speak 2.5; press #; speak 5")
    op = record_v1(
        graph, call_id, stopTones=["#"], maxRecordDurationInSeconds=60, clientContext="k"
    )

    [notification] = receiver.wait_for(
        lambda ns: [n for n in ns if n["resourceData"].get("id") == op["id"]]
    )
    post = next(p for p in receiver.posts if notification in p["json"]["value"])
    assert post["json"]["@odata.type"] == "#microsoft.graph.commsNotifications"
    assert notification["changeType"] == "deleted"
    assert notification["resourceUrl"] == f"/communications/calls/{call_id}/operations/{op['id']}"
    assert notification["resource"] == f"/app/calls/{call_id}/operations/{op['id']}"
    data = notification["resourceData"]
    assert set(data) == V1_COMPLETION_KEYS  # no completionReason, as Graph documents
    assert (data["status"], ending(data), data["clientContext"]) == (
        "completed",
        "stopToneDetected",
        "k",
    )
    assert data["resultInfo"]["code"] == 200
    assert data["recordingLocation"] == f"http://testserver/emulator/recordings/{op['id']}"

    # The Bearer JWT verifies against the published keys.
    token = post["headers"]["Authorization"].removeprefix("Bearer ")
    jwks = jwt.PyJWKSet.from_dict(graph.client.get("/emulator/keys").json())
    claims = jwt.decode(
        token,
        jwks[jwt.get_unverified_header(token)["kid"]].key,
        algorithms=["RS256"],
        audience=settings.EMULATOR_CLIENT_ID,
        issuer="https://api.botframework.com",
    )
    assert claims["tid"] == settings.EMULATOR_TENANT_ID

    response = download(graph, data["recordingLocation"], data["recordingAccessToken"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response.streaming
    assert not response.has_header("Content-Length")
    params = read_wav(response)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    assert params.nframes / 16000 == pytest.approx(1 + 2.5 + 0.2)

    # GET operation now tells the same story.
    got = graph.get(f"/emulator/v1.0/communications/calls/{call_id}/operations/{op['id']}").json()
    assert got["status"] == "completed"
    assert got["recordingAccessToken"] == data["recordingAccessToken"]


def test_the_recording_wants_its_own_access_token(graph, receiver, established):
    call_id = established("speak 1; press #")
    op = record_v1(graph, call_id, stopTones=["#"])
    [data] = receiver.wait_for(completions)
    location = data["recordingLocation"]
    assert download(graph, location, "").status_code == 401
    assert download(graph, location, "wrong").status_code == 401
    assert download(graph, location, graph.token).status_code == 401
    assert graph.get(f"/emulator/recordings/{op['id']}x", token="x").status_code == 404


def test_beta_completion_uses_the_beta_names(graph, receiver, established):
    call_id = established("speak 1")
    response = graph.post(
        f"/emulator/beta/app/calls/{call_id}/record",
        {"maxRecordDurationInSeconds": 2, "recordingFormat": "wav", "streamWhileRecording": True},
    )
    op_id = response.json()["id"]
    [data] = receiver.wait_for(completions)
    post = next(
        p
        for p in receiver.posts
        if "resource" in p["json"]["value"][0] and "operations" in p["json"]["value"][0]["resource"]
    )
    notification = post["json"]["value"][0]
    assert set(post["json"]) == {"value"}
    assert set(notification) == {"changeType", "resource", "resourceData"}
    assert notification["resource"] == f"/app/calls/{call_id}/operations/{op_id}"
    assert data["@odata.id"] == notification["resource"]
    assert data["completionReason"] == "maxRecordDurationReached"
    assert (data["resultInfo"]["code"], data["resultInfo"]["subcode"]) == (200, 8515)
    assert "recordingLocation" not in data
    response = download(graph, data["recordResourceLocation"], data["recordResourceAccessToken"])
    assert read_wav(response).nframes == 2 * 16000


def test_prompts_are_fetched_from_loopback_with_their_real_length(graph, receiver, established):
    receiver.files["/hello.wav"] = audio.tone_wav(1500)
    call_id = established("speak 1")
    op = record_v1(
        graph,
        call_id,
        prompts=[
            {
                "@odata.type": "#microsoft.graph.mediaPrompt",
                "mediaInfo": {"uri": f"{receiver.base}/hello.wav", "resourceId": "r"},
            }
        ],
        maxSilenceTimeoutInSeconds=1,
    )
    [data] = receiver.wait_for(completions)
    assert ending(data) == "maxSilenceTimeout"
    plan = Operation.objects.get(pk=op["id"]).plan
    assert plan["record_start"] == pytest.approx(1.5 + 0.5)


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("https://cdn.contoso.com/beep.wav", "not a loopback address"),
        ("http://10.0.0.1/beep.wav", "not a loopback address"),
        ("{base}/missing.wav", "HTTP 404"),
        ("{base}/eight-khz.wav", "16 kHz"),
    ],
)
def test_unplayable_prompts_fail_the_operation(graph, receiver, established, uri, says):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(800))
    receiver.files["/eight-khz.wav"] = buffer.getvalue()
    call_id = established("speak 1")
    record_v1(
        graph,
        call_id,
        prompts=[
            {
                "@odata.type": "#microsoft.graph.mediaPrompt",
                "mediaInfo": {"uri": uri.format(base=receiver.base)},
            }
        ],
    )
    [data] = receiver.wait_for(completions)
    assert (data["status"], ending(data)) == ("failed", "playPromptFailed")
    assert (data["recordingLocation"], data["recordingAccessToken"]) == ("", "")
    assert says in data["resultInfo"]["message"]


def test_cancel_fails_the_operation_with_operation_canceled(graph, receiver, established):
    call_id = established("speak 100")
    op = record_v1(graph, call_id, maxRecordDurationInSeconds=120, clientContext="c")
    response = graph.post(
        f"/emulator/v1.0/communications/calls/{call_id}/cancelMediaProcessing",
        {"clientContext": "c"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    [data] = receiver.wait_for(completions)
    assert data["id"] == op["id"]
    assert (data["status"], ending(data)) == ("failed", "operationCanceled")
    # The one v1.0 ending that names itself, as in Graph's cancel example.
    assert data["completionReason"] == "operationCanceled"
    assert data["resultInfo"] == {
        "@odata.type": "#microsoft.graph.resultInfo",
        "code": 400,
        "subcode": 8508,
        "message": "Action failed, the operation was cancelled.",
    }
    assert (data["recordingLocation"], data["recordingAccessToken"]) == ("", "")


def test_hanging_up_ends_the_recording_with_the_audio_so_far(graph, receiver, established):
    set_faults(complete_on_hangup=True)
    call_id = established("speak 100")
    op = record_v1(graph, call_id, maxRecordDurationInSeconds=120)
    receiver.wait_for(lambda ns: Operation.objects.get(pk=op["id"]).timeline_started_at)
    assert graph.delete(f"/emulator/v1.0/communications/calls/{call_id}").status_code == 204
    receiver.wait_for(lambda ns: "terminated" in states(ns))
    [data] = completions(receiver.notifications())
    assert (data["status"], ending(data)) == ("completed", "none")
    notifications = receiver.notifications()
    order = [n["resourceData"].get("state") or n["resourceData"]["status"] for n in notifications]
    assert order[-3:] == ["completed", "terminating", "terminated"]
    terminated = notifications[-1]
    assert terminated["changeType"] == "deleted"
    assert terminated["resourceUrl"] == f"/communications/calls/{call_id}"
    assert terminated["resource"] == f"/app/calls/{call_id}"
    info = terminated["resourceData"]["resultInfo"]
    # The bot ended it (call-delete.md).
    assert (info["code"], info["subcode"]) == (7000, 10550)
    response = download(graph, data["recordingLocation"], data["recordingAccessToken"])
    assert 0 <= read_wav(response).nframes < 120 * 16000
    assert Call.objects.get(pk=call_id).ended_by == "bot"


def test_the_caller_hanging_up_ends_operation_and_call(graph, receiver, established):
    set_faults(complete_on_hangup=True)
    call_id = established("speak 1.5; hangup")
    record_v1(graph, call_id, maxRecordDurationInSeconds=60)
    receiver.wait_for(lambda ns: "terminated" in states(ns))
    [data] = completions(receiver.notifications())
    assert (data["status"], ending(data)) == ("completed", "none")
    response = download(graph, data["recordingLocation"], data["recordingAccessToken"])
    assert read_wav(response).nframes == 1.5 * 16000
    assert Call.objects.get(pk=call_id).ended_by == "caller"
    terminated = receiver.notifications()[-1]["resourceData"]
    # All other participants left (call-delete.md).
    assert (terminated["resultInfo"]["code"], terminated["resultInfo"]["subcode"]) == (200, 5002)
    again = graph.post(f"/emulator/v1.0/communications/calls/{call_id}/recordResponse", {})
    assert again.status_code == 404


def test_the_script_replays_for_each_recording(graph, receiver, established):
    call_id = established("speak 1; press #")
    for _ in range(2):
        record_v1(graph, call_id, stopTones=["#"])
        receiver.wait_for(lambda ns, n=_ + 1: len(completions(ns)) == n)
    reasons = [ending(d) for d in completions(receiver.notifications())]
    assert reasons == ["stopToneDetected", "stopToneDetected"]


def test_recordings_expire_after_their_lifetime(graph, receiver, established, settings):
    settings.GRAPH_EMULATOR_RECORDING_LIFETIME = 0.05
    call_id = established("speak 1; press #")
    record_v1(graph, call_id, stopTones=["#"])
    [data] = receiver.wait_for(completions)
    time.sleep(0.1)
    response = download(graph, data["recordingLocation"], data["recordingAccessToken"])
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "The recording has expired and was discarded."


def test_call_notifications_follow_the_contract(graph, receiver, established):
    call_id = established("speak 1")
    created, establishing, established_ = receiver.notifications()
    assert created["changeType"] == "created"
    data = created["resourceData"]
    assert (data["state"], data["direction"]) == ("incoming", "incoming")
    assert data["source"]["identity"]["phone"]["id"] == "+15550100"
    for n in (created, establishing, established_):
        assert n["resource"] == f"/app/calls/{call_id}"
        assert n["resourceUrl"] == f"/communications/calls/{call_id}"
        assert n["resourceData"]["@odata.id"] == f"/communications/calls/{call_id}"
    assert establishing["changeType"] == established_["changeType"] == "updated"
    assert established_["resourceData"]["mediaState"]["audio"] == "active"
    # The receiver has the POSTs; the delivery thread writes their outcome just after.
    assert background.wait_idle(5)
    log = Delivery.objects.filter(call_id=call_id).order_by("id")
    assert [(d.summary, d.status, d.http_status) for d in log] == [
        ("call created (incoming)", "sent", 202),
        ("call establishing", "sent", 202),
        ("call established", "sent", 202),
    ]


def test_a_5xx_from_the_bot_is_retried(graph, receiver, established):
    call_id = established("speak 1; press #")
    receiver.statuses.extend([503, 500])
    record_v1(graph, call_id, stopTones=["#"])
    receiver.wait_for(lambda ns: completions(ns) and len(receiver.posts) >= 6)
    # The receiver has the POST; the delivery thread writes its outcome just after.
    assert background.wait_idle(5)
    delivery = Delivery.objects.get(call_id=call_id, operation_id__gt="")
    assert (delivery.status, delivery.attempts, delivery.http_status) == ("sent", 3, 202)


def test_an_unreachable_bot_is_retried_then_logged_failed(graph, receiver, established):
    call_id = established("speak 1; press #")
    Call.objects.filter(pk=call_id).update(callback_url="http://127.0.0.1:9/nobody")
    record_v1(graph, call_id, stopTones=["#"])
    assert background.wait_idle(5)
    delivery = Delivery.objects.get(call_id=call_id, operation_id__gt="")
    assert (delivery.status, delivery.attempts, delivery.http_status) == ("failed", 4, None)
    assert "ConnectionError" in delivery.error


def test_v1_completion_reason_switch_names_the_reason_in_v1_too(graph, receiver, established):
    set_faults(v1_completion_reason=True)
    call_id = established("speak 1; press #")
    op = record_v1(graph, call_id, stopTones=["#"])
    [data] = receiver.wait_for(completions)
    assert data["completionReason"] == "stopToneDetected"
    got = graph.get(f"/emulator/v1.0/communications/calls/{call_id}/operations/{op['id']}")
    assert got.json()["completionReason"] == "stopToneDetected"
