import json

import pytest

from recordings.graph import (
    GraphAuthError,
    GraphNetworkError,
    GraphNotFoundError,
    GraphRequestError,
    GraphResponseError,
    GraphServiceError,
    GraphThrottledError,
)
from recordings.graph.errors import error_from_response, parse_error_body


def graph_error(code, message, request_id="inner-request-id"):
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "request-id": request_id,
                    "client-request-id": "c0ffee00-0000-4000-8000-000000000000",
                    "date": "2026-11-30T08:00:00",
                },
            }
        }
    ).encode()


def test_it_reads_graphs_error_body():
    body = graph_error("8522", "Call not found", request_id="r-1")
    assert parse_error_body(body) == ("8522", "Call not found", "r-1")


def test_it_reads_azure_ads_oauth_error_body():
    body = json.dumps({"error": "invalid_client", "error_description": "Bad secret."}).encode()
    assert parse_error_body(body) == ("invalid_client", "Bad secret.", "")


@pytest.mark.parametrize("body", [b"", b"<html>Bad gateway</html>", b"[1, 2]", b'{"error": 3}'])
def test_it_gives_empty_strings_for_a_body_that_is_not_an_error(body):
    assert parse_error_body(body) == ("", "", "")


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "BadRequest", GraphRequestError),
        (401, "InvalidAuthenticationToken", GraphAuthError),
        (403, "Forbidden", GraphAuthError),
        (404, "itemNotFound", GraphNotFoundError),
        (400, "8522", GraphNotFoundError),
        (429, "TooManyRequests", GraphThrottledError),
        (500, "InternalServerError", GraphServiceError),
        (503, "ServiceUnavailable", GraphServiceError),
        (302, "", GraphResponseError),
    ],
)
def test_it_picks_the_error_class_by_status_and_code(status, code, kind):
    err = error_from_response(
        status=status, headers={}, body=graph_error(code, "m"), client_request_id="c"
    )
    assert type(err) is kind
    assert err.status == status


def test_it_prefers_the_request_id_header_to_the_inner_error():
    err = error_from_response(
        status=400,
        headers={"request-id": "header-id"},
        body=graph_error("BadRequest", "no", request_id="inner-id"),
        client_request_id="client-id",
    )
    assert err.request_id == "header-id"
    assert err.client_request_id == "client-id"


def test_it_falls_back_to_the_inner_error_request_id():
    err = error_from_response(
        status=400, headers={}, body=graph_error("BadRequest", "no"), client_request_id="c"
    )
    assert err.request_id == "inner-request-id"
    assert err.code == "BadRequest"
    assert err.message == "no"
    assert str(err) == "400 BadRequest: no"


def test_it_says_what_happened_when_the_body_has_no_message():
    err = error_from_response(status=502, headers={}, body=b"", client_request_id="c")
    assert err.message == "HTTP 502 with no error message"


def test_it_tells_the_operator_a_throttled_graph_needs_a_minute():
    err = GraphThrottledError("Too many", status=429, code="TooManyRequests")
    assert err.operator_message == (
        "Graph is busy (429) and asked Recorder to wait; try again in a minute."
    )


@pytest.mark.parametrize(
    ("seconds", "when"), [(30, "in 30 s"), (0.2, "in 1 s"), (600, "in 10 minutes")]
)
def test_it_tells_the_operator_when_graph_said_to_come_back(seconds, when):
    err = GraphThrottledError("Too many", status=429, retry_after=seconds)
    assert err.operator_message.endswith(f"try again {when}.")


def test_it_tells_the_operator_a_call_graph_no_longer_knows_has_ended():
    err = error_from_response(
        status=404, headers={}, body=graph_error("8522", "Call not found"), client_request_id="c"
    )
    assert err.operator_message == (
        "Graph no longer knows this call (8522 Call not found): it has probably ended."
    )


@pytest.mark.parametrize(
    ("err", "words"),
    [
        (GraphNetworkError("the connection timed out"), "could not reach Graph"),
        (GraphAuthError("AADSTS7000215", code="invalid_client"), "GRAPH_CLIENT_SECRET"),
        (GraphAuthError("expired", status=401, code="InvalidAuthenticationToken"), "secret"),
        (GraphAuthError("denied", status=403, code="Forbidden"), "Calls.AccessMedia.All"),
        (GraphNotFoundError("gone", status=404, code="itemNotFound"), "probably ended"),
        (GraphServiceError("oops", status=503, code="ServiceUnavailable"), "few minutes"),
        (GraphRequestError("Bad prompt", status=400, code="BadRequest"), "Bad prompt"),
        (GraphResponseError("no operation id", status=200), "no operation id"),
    ],
)
def test_every_error_has_a_sentence_an_operator_can_act_on(err, words):
    message = err.operator_message
    assert words in message
    assert message.endswith(".")
    assert "Traceback" not in message
