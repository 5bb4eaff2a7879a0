import json

import pytest

from recordings.graph import (
    GraphClient,
    GraphNotFoundError,
    GraphRequestError,
    GraphResponseError,
    build_record_body,
)
from recordings.graph.client import UnsafeSegment
from tests.support.graph import (
    BETA_EXAMPLE,
    GRAPH,
    TOKEN_URL,
    V1_EXAMPLE,
    RecordingLog,
    graph_fixture,
)

BETA = "https://graph.test/beta"
V1 = GRAPH
CALL = "421f1100-f4ff-4d0b-a10e-a4d5b1d2be55"
OPERATION = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"
BASES = [("beta-record", BETA), ("v1.0", V1)]
# The client sends the body it is given; these are the two request samples' bodies.
BETA_BODY = build_record_body(BETA_EXAMPLE, "beta-record")
V1_BODY = build_record_body(V1_EXAMPLE, "v1.0")


@pytest.fixture
def tokens(make_tokens, mock_http):
    mock_http.post(TOKEN_URL, json={"access_token": "app-token", "expires_in": 3600})
    return make_tokens()


@pytest.fixture
def client_for(session, tokens):
    def make(profile):
        return GraphClient(dict(BASES)[profile], profile, tokens, session)

    return make


def graph_requests(mock_http):
    """The requests that went to Graph (not to the token endpoint)."""
    return [call.request for call in mock_http.calls if call.request.url != TOKEN_URL]


def test_beta_record_posts_the_spec_to_app_calls_record(client_for, mock_http):
    answer = graph_fixture("beta-record/record-response.json")
    mock_http.post(f"{BETA}/app/calls/{CALL}/record", json=answer, headers={"request-id": "g-1"})

    result = client_for("beta-record").record(CALL, BETA_BODY)

    (sent,) = graph_requests(mock_http)
    assert json.loads(sent.body) == graph_fixture("beta-record/record-request.json")
    assert sent.headers["Authorization"] == "Bearer app-token"
    assert result.operation.id == "17e3b46c-f61d-4f4d-9635-c626ef18e6ad"
    assert result.operation.status == "running"
    assert result.body == answer
    assert result.request_id == "g-1"
    assert result.client_request_id == sent.headers["client-request-id"]
    assert result.location == ""


def test_v1_record_posts_record_response_and_reads_the_location(client_for, mock_http):
    location = f"{V1}/communications/calls/{CALL}/operations/{OPERATION}"
    mock_http.post(
        f"{V1}/communications/calls/{CALL}/recordResponse",
        json=graph_fixture("v1.0/recordResponse-response.json"),
        headers={"Location": location},
    )

    result = client_for("v1.0").record(CALL, V1_BODY)

    (sent,) = graph_requests(mock_http)
    assert json.loads(sent.body) == graph_fixture("v1.0/recordResponse-request.json")
    assert result.operation.id == OPERATION
    assert result.location == location


@pytest.mark.parametrize(
    "answer", [{"status": "running"}, {"id": "", "status": "running"}, {"id": None}]
)
def test_a_record_answer_naming_no_operation_is_a_response_error(client_for, mock_http, answer):
    mock_http.post(f"{V1}/communications/calls/{CALL}/recordResponse", json=answer)
    with pytest.raises(GraphResponseError, match="names no operation") as caught:
        client_for("v1.0").record(CALL, V1_BODY)
    assert caught.value.status == 200
    assert caught.value.client_request_id


@pytest.mark.parametrize("body", ["<html>ok</html>", "[]", '{"resultInfo": "fine", "id": "x"}'])
def test_a_record_answer_that_is_not_an_operation_is_a_response_error(client_for, mock_http, body):
    mock_http.post(
        f"{V1}/communications/calls/{CALL}/recordResponse",
        body=body,
        content_type="application/json",
    )
    with pytest.raises(GraphResponseError):
        client_for("v1.0").record(CALL, V1_BODY)


def test_a_refused_record_action_says_what_graph_said(client_for, mock_http):
    mock_http.post(
        f"{V1}/communications/calls/{CALL}/recordResponse",
        status=400,
        json={"error": {"code": "BadRequest", "message": "Prompt URI unreachable."}},
    )
    with pytest.raises(GraphRequestError) as caught:
        client_for("v1.0").record(CALL, V1_BODY)
    assert "Prompt URI unreachable." in caught.value.operator_message


def test_the_record_action_renews_a_refused_token_once(client_for, mock_http):
    mock_http.post(TOKEN_URL, json={"access_token": "fresh-token", "expires_in": 3600})
    url = f"{V1}/communications/calls/{CALL}/recordResponse"
    mock_http.post(url, status=401, json={"error": {"code": "InvalidAuthenticationToken"}})
    mock_http.post(url, json={"id": OPERATION, "status": "running"})

    result = client_for("v1.0").record(CALL, V1_BODY)

    assert result.operation.id == OPERATION
    assert [r.headers["Authorization"] for r in graph_requests(mock_http)] == [
        "Bearer app-token",
        "Bearer fresh-token",
    ]


def test_the_record_action_goes_to_the_exchange_log(client_for, mock_http):
    mock_http.post(f"{V1}/communications/calls/{CALL}/recordResponse", json={"id": OPERATION})
    log = RecordingLog()
    client_for("v1.0").record(CALL, V1_BODY, log=log)
    started = log.events[0]
    assert started[1:4] == ("record", "POST", f"{V1}/communications/calls/{CALL}/recordResponse")
    assert started[4] == graph_fixture("v1.0/recordResponse-request.json")


@pytest.mark.parametrize(("profile", "base"), BASES)
def test_cancel_media_processing_posts_the_client_context(client_for, mock_http, profile, base):
    mock_http.post(
        f"{base}/communications/calls/{CALL}/cancelMediaProcessing",
        json={"id": "cancel-1", "status": "completed", "clientContext": "ctx"},
    )

    operation = client_for(profile).cancel_media_processing(CALL, "ctx")

    (sent,) = graph_requests(mock_http)
    assert json.loads(sent.body) == {"clientContext": "ctx"}
    assert (operation.id, operation.status) == ("cancel-1", "completed")


@pytest.mark.parametrize(("profile", "base"), BASES)
def test_get_call_reads_the_call(client_for, mock_http, profile, base):
    mock_http.get(
        f"{base}/communications/calls/{CALL}",
        json={
            "id": CALL,
            "state": "Established",
            "direction": "incoming",
            "source": {"identity": {"phone": {"id": "+12345678901"}}},
        },
    )
    call = client_for(profile).get_call(CALL)
    assert (call.id, call.state, call.caller_id) == (CALL, "established", "+12345678901")


@pytest.mark.parametrize(("profile", "base"), BASES)
def test_answer_call_asks_for_service_hosted_audio(client_for, mock_http, profile, base):
    mock_http.post(f"{base}/communications/calls/{CALL}/answer", status=202)

    assert client_for(profile).answer_call(CALL, "https://recorder.test/api/calls") is None

    (sent,) = graph_requests(mock_http)
    assert json.loads(sent.body) == {
        "callbackUri": "https://recorder.test/api/calls",
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "acceptedModalities": ["audio"],
    }


@pytest.mark.parametrize(("profile", "base"), BASES)
def test_delete_call_hangs_up(client_for, mock_http, profile, base):
    mock_http.delete(f"{base}/communications/calls/{CALL}", status=204)
    assert client_for(profile).delete_call(CALL) is None
    assert [r.method for r in graph_requests(mock_http)] == ["DELETE"]


@pytest.mark.parametrize(("profile", "base"), BASES)
def test_get_operation_reads_the_operation(client_for, mock_http, profile, base):
    mock_http.get(
        f"{base}/communications/calls/{CALL}/operations/{OPERATION}",
        json={"id": OPERATION, "status": "Completed", "recordResourceLocation": "https://f.test/1"},
    )
    operation = client_for(profile).get_operation(CALL, OPERATION)
    assert (operation.status, operation.recording_location) == ("completed", "https://f.test/1")


def test_a_call_graph_no_longer_knows_is_not_found(client_for, mock_http):
    mock_http.get(
        f"{V1}/communications/calls/{CALL}",
        status=404,
        json={"error": {"code": "8522", "message": "Call not found"}},
    )
    with pytest.raises(GraphNotFoundError) as caught:
        client_for("v1.0").get_call(CALL)
    assert caught.value.operator_message == (
        "Graph no longer knows this call (8522 Call not found): it has probably ended."
    )


@pytest.mark.parametrize("call_id", ["..", ".", ""])
@pytest.mark.parametrize("profile", ["beta-record", "v1.0"])
def test_an_id_that_is_a_dot_segment_is_refused_and_nothing_is_sent(
    client_for, mock_http, profile, call_id
):
    client = client_for(profile)
    for send in (
        lambda: client.answer_call(call_id, "https://bot.test/api/calls"),
        lambda: client.get_call(call_id),
        lambda: client.delete_call(call_id),
        lambda: client.cancel_media_processing(call_id, "ctx"),
        lambda: client.get_operation(CALL, call_id),
        lambda: client.record(call_id, BETA_EXAMPLE if profile == "beta-record" else V1_EXAMPLE),
    ):
        with pytest.raises(UnsafeSegment, match="can't be a path segment"):
            send()
    assert graph_requests(mock_http) == []


def test_every_character_of_an_id_stays_in_its_path_segment(client_for, mock_http):
    mock_http.post(f"{V1}/communications/calls/..%2F..%2Fx%3Fy%23z%20%25/answer", status=202)
    client_for("v1.0").answer_call("../../x?y#z %", "https://bot.test/api/calls")
    (sent,) = graph_requests(mock_http)
    assert sent.path_url == "/v1.0/communications/calls/..%2F..%2Fx%3Fy%23z%20%25/answer"
