import json
import tomllib
import uuid
from datetime import UTC, datetime

import pytest

from recordings.graph import (
    GraphAuthError,
    GraphNetworkError,
    GraphNotFoundError,
    GraphRequestError,
    GraphResponseError,
    GraphServiceError,
    GraphSession,
    GraphThrottledError,
)
from recordings.graph.http import LOGGED_BODY_LIMIT, REDACTED
from tests.support.graph import (
    TOKEN_URL,
    RecordingLog,
    connect_timeout,
    connection_refused,
    connection_reset,
    read_timeout,
)
from tests.support.paths import REPO

URL = "https://graph.test/v1.0/communications/calls/c1"


def client_request_ids(mock_http):
    return [call.request.headers["client-request-id"] for call in mock_http.calls]


def test_it_sends_a_timeout_a_client_request_id_and_a_user_agent(session, mock_http):
    mock_http.get(URL, json={"id": "c1"}, headers={"request-id": "graph-1"})

    response = session.send("GET", URL, action="get call")

    sent = mock_http.calls[0].request
    assert sent.req_kwargs["timeout"] == 7.5
    assert str(uuid.UUID(sent.headers["client-request-id"])) == sent.headers["client-request-id"]
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert sent.headers["User-Agent"] == f"Recorder/{version}"
    assert response.status == 200
    assert response.json() == {"id": "c1"}
    assert response.request_id == "graph-1"
    assert response.client_request_id == sent.headers["client-request-id"]
    assert response.attempts == 1


def test_it_takes_a_timeout_given_for_one_call(session, mock_http):
    mock_http.get(URL, json={})
    session.send("GET", URL, action="get call", timeout=2.0)
    assert mock_http.calls[0].request.req_kwargs["timeout"] == 2.0


def test_it_uses_a_fresh_client_request_id_for_each_logical_request(session, mock_http):
    mock_http.get(URL, json={})
    session.send("GET", URL, action="get call")
    session.send("GET", URL, action="get call")
    first, second = client_request_ids(mock_http)
    assert first != second


def test_it_retries_429_honouring_retry_after(session, mock_http, sleeps):
    mock_http.get(URL, status=429, headers={"Retry-After": "1.5"})
    mock_http.get(URL, json={"id": "c1"})

    response = session.send("GET", URL, action="get call")

    assert response.json() == {"id": "c1"}
    assert response.attempts == 2
    assert sleeps == [1.5]
    first, second = client_request_ids(mock_http)
    assert first == second == response.client_request_id


def test_it_gives_up_at_once_when_graph_asks_for_a_longer_wait_than_the_setting(
    session, mock_http, sleeps, settings
):
    settings.GRAPH_MAX_RETRY_AFTER = 12.0
    mock_http.get(URL, status=503, headers={"Retry-After": "3600"})
    mock_http.get(URL, json={})
    with pytest.raises(GraphServiceError) as caught:
        session.send("GET", URL, action="get call")
    assert sleeps == []
    assert len(mock_http.calls) == 1
    assert caught.value.retry_after == 3600.0


def test_it_reads_a_retry_after_given_as_a_date(graph_settings, mock_http, sleeps):
    now = datetime(2026, 11, 30, 8, 0, 0, tzinfo=UTC).timestamp()
    session = GraphSession(sleep=sleeps.append, clock=lambda: now)
    mock_http.get(URL, status=429, headers={"Retry-After": "Mon, 30 Nov 2026 08:00:05 GMT"})
    mock_http.get(URL, json={})
    session.send("GET", URL, action="get call")
    assert sleeps == [5.0]


def test_it_backs_off_exponentially_within_a_bound_without_retry_after(
    session, mock_http, sleeps, settings
):
    settings.GRAPH_MAX_ATTEMPTS = 7
    for _ in range(6):
        mock_http.get(URL, status=503)
    mock_http.get(URL, json={})

    response = session.send("GET", URL, action="get call")

    assert response.attempts == 7
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_it_backs_off_when_retry_after_is_not_a_number_or_a_date(session, mock_http, sleeps):
    mock_http.get(URL, status=504, headers={"Retry-After": "soon"})
    mock_http.get(URL, json={})
    session.send("GET", URL, action="get call")
    assert sleeps == [0.5]


def test_it_gives_up_on_5xx_after_max_attempts(session, mock_http, sleeps):
    mock_http.get(URL, status=504, json={"error": {"code": "GatewayTimeout", "message": "slow"}})

    with pytest.raises(GraphServiceError) as caught:
        session.send("GET", URL, action="get call")

    assert len(mock_http.calls) == 4
    assert len(sleeps) == 3
    assert caught.value.status == 504
    assert caught.value.code == "GatewayTimeout"


def test_it_raises_throttled_with_graphs_wait_when_429_persists(session, mock_http):
    mock_http.get(URL, status=429, headers={"Retry-After": "2"})
    with pytest.raises(GraphThrottledError) as caught:
        session.send("GET", URL, action="get call", max_attempts=2)
    assert len(mock_http.calls) == 2
    assert caught.value.retry_after == 2.0


def test_it_retries_a_post_at_most_twice(session, mock_http, settings):
    settings.GRAPH_MAX_ATTEMPTS = 10
    mock_http.post(URL, status=429, headers={"Retry-After": "0"})
    with pytest.raises(GraphThrottledError):
        session.send("POST", URL, action="record", json={})
    assert len(mock_http.calls) == 3


@pytest.mark.parametrize("status", [400, 409, 500, 502])
def test_it_does_not_retry_other_errors(session, mock_http, sleeps, status):
    mock_http.get(URL, status=status)
    with pytest.raises((GraphRequestError, GraphServiceError)):
        session.send("GET", URL, action="get call")
    assert len(mock_http.calls) == 1
    assert sleeps == []


def test_it_wraps_a_network_error_after_retrying_a_get(session, mock_http, sleeps):
    failure = connection_reset()
    mock_http.get(URL, body=failure)

    with pytest.raises(GraphNetworkError) as caught:
        session.send("GET", URL, action="get call")

    assert caught.value.__cause__ is failure
    assert caught.value.status is None
    assert caught.value.client_request_id
    assert len(mock_http.calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_it_does_not_retry_a_post_whose_answer_timed_out(session, mock_http):
    # Graph may have acted on it: a second record action would start a second recording.
    mock_http.post(URL, body=read_timeout())
    with pytest.raises(GraphNetworkError) as caught:
        session.send("POST", URL, action="record", json={})
    assert len(mock_http.calls) == 1
    assert caught.value.message == "no answer before the timeout"


def test_it_retries_a_post_whose_connection_never_opened(session, mock_http, sleeps):
    mock_http.post(URL, body=connection_refused(URL))
    mock_http.post(URL, json={"id": "op-1"})

    response = session.send("POST", URL, action="record", json={})

    assert response.json() == {"id": "op-1"}
    assert len(mock_http.calls) == 2
    assert sleeps == [0.5]


def test_it_retries_a_post_whose_connection_timed_out(session, mock_http):
    mock_http.post(URL, body=connect_timeout())
    mock_http.post(URL, json={})
    session.send("POST", URL, action="record", json={})
    assert len(mock_http.calls) == 2


def test_a_401_renews_the_token_and_retries_once_with_the_same_request_id(
    session, mock_http, sleeps, make_tokens
):
    tokens = make_tokens()
    mock_http.post(TOKEN_URL, json={"access_token": "old", "expires_in": 3600})
    mock_http.post(TOKEN_URL, json={"access_token": "new", "expires_in": 3600})
    mock_http.get(URL, status=401, json={"error": {"code": "InvalidAuthenticationToken"}})
    mock_http.get(URL, json={"id": "c1"})

    response = session.send("GET", URL, action="get call", token=tokens)

    graph_calls = [c.request for c in mock_http.calls if c.request.url == URL]
    assert [r.headers["Authorization"] for r in graph_calls] == ["Bearer old", "Bearer new"]
    assert (
        graph_calls[0].headers["client-request-id"] == graph_calls[1].headers["client-request-id"]
    )
    assert response.attempts == 2
    assert sleeps == []
    assert tokens.get_token() == "new"


def test_a_second_401_is_an_auth_error(session, mock_http, make_tokens):
    tokens = make_tokens()
    mock_http.post(TOKEN_URL, json={"access_token": "t", "expires_in": 3600})
    mock_http.get(URL, status=401)

    with pytest.raises(GraphAuthError) as caught:
        session.send("GET", URL, action="get call", token=tokens)

    assert caught.value.status == 401
    assert len([c for c in mock_http.calls if c.request.url == URL]) == 2


def test_a_401_with_a_plain_token_is_not_retried(session, mock_http):
    # The per-operation recording token cannot be renewed by Recorder.
    mock_http.get(URL, status=401)
    with pytest.raises(GraphAuthError):
        session.send("GET", URL, action="download", token="recording-token")
    assert len(mock_http.calls) == 1
    assert mock_http.calls[0].request.headers["Authorization"] == "Bearer recording-token"


def test_it_never_follows_a_redirect(session, mock_http):
    mock_http.get(URL, status=302, headers={"Location": "https://elsewhere.test/x"})
    with pytest.raises(GraphResponseError):
        session.send("GET", URL, action="download")
    assert [c.request.url for c in mock_http.calls] == [URL]


def test_it_parses_graphs_error_body_into_the_error(session, mock_http):
    mock_http.get(
        URL,
        status=404,
        headers={"request-id": "graph-9"},
        json={"error": {"code": "8522", "message": "Call not found", "innerError": {}}},
    )
    with pytest.raises(GraphNotFoundError) as caught:
        session.send("GET", URL, action="get call")
    err = caught.value
    assert (err.status, err.code, err.message, err.request_id) == (
        404,
        "8522",
        "Call not found",
        "graph-9",
    )
    assert err.client_request_id == mock_http.calls[0].request.headers["client-request-id"]


def test_it_logs_an_exchange_with_credentials_redacted(session, mock_http):
    log = RecordingLog()
    mock_http.post(
        TOKEN_URL,
        json={"access_token": "very-secret-token", "expires_in": 3599},
        headers={"request-id": "aad-1"},
    )
    form = {"grant_type": "client_credentials", "client_secret": "very-secret"}

    response = session.send("POST", TOKEN_URL, action="token", data=form, log=log)

    started, finished = log.events
    assert started == (
        "started",
        "token",
        "POST",
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_secret": REDACTED},
        response.client_request_id,
    )
    assert finished[:2] == ("finished", 200)
    assert "very-secret" not in finished[2]
    assert json.loads(finished[2]) == {"access_token": REDACTED, "expires_in": 3599}
    assert finished[3:] == ("aad-1", 1, None)
    # Only the log is redacted: the form went out whole.
    assert "client_secret=very-secret" in mock_http.calls[0].request.body


def test_it_logs_a_refused_exchange_with_its_error(session, mock_http):
    log = RecordingLog()
    mock_http.post(URL, status=400, json={"error": {"code": "BadRequest", "message": "No."}})

    with pytest.raises(GraphRequestError) as caught:
        session.send("POST", URL, action="record", json={"playBeep": True}, log=log)

    started, finished = log.events
    assert started[4] == {"playBeep": True}
    assert finished[1] == 400
    assert "BadRequest" in finished[2]
    assert finished[4] == 1
    assert finished[5] is caught.value


def test_it_logs_a_network_failure_with_no_status(session, mock_http):
    log = RecordingLog()
    mock_http.post(URL, body=read_timeout())
    with pytest.raises(GraphNetworkError):
        session.send("POST", URL, action="record", json={}, log=log)
    finished = log.events[-1]
    assert finished[1] is None
    assert isinstance(finished[5], GraphNetworkError)


def test_it_logs_a_binary_answer_by_its_size(session, mock_http):
    log = RecordingLog()
    mock_http.get(URL, body=b"RIFF\x00\x01\x02", content_type="audio/wav")
    session.send("GET", URL, action="download", log=log)
    assert log.events[-1][2] == "[7 bytes of audio/wav]"


def test_it_bounds_the_body_it_logs(session, mock_http):
    log = RecordingLog()
    mock_http.get(URL, body="x" * (LOGGED_BODY_LIMIT + 10), content_type="text/plain")
    session.send("GET", URL, action="get call", log=log)
    assert log.events[-1][2].endswith("... [10 more characters]")


def test_a_body_that_is_not_json_raises_a_response_error(session, mock_http):
    mock_http.get(URL, body="<html>proxy</html>", content_type="text/html")
    response = session.send("GET", URL, action="get call")
    with pytest.raises(GraphResponseError):
        response.json()


def test_it_streams_a_download_without_reading_it_first(session, mock_http):
    audio = b"RIFF" + bytes(range(256)) * 4
    mock_http.get(URL, body=audio, content_type="application/octet-stream")

    with session.send("GET", URL, action="download", token="t", stream=True) as response:
        assert response.body == b""
        assert b"".join(response.iter_bytes(chunk_size=100)) == audio
