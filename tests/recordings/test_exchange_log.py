import json
import uuid

import pytest

from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import GraphNetworkError, GraphNotFoundError
from recordings.models import GraphExchange, RecordOperation, RecordRequest
from tests.support.graph import read_timeout

URL = "https://graph.test/v1.0/communications/calls/c1/recordResponse"

pytestmark = pytest.mark.django_db


def test_it_writes_the_row_before_sending_and_completes_it_after(session, mock_http, call):
    rows_while_sending = []

    def graph(request):
        rows_while_sending.extend(GraphExchange.objects.all())
        answer = {"id": "op-1", "status": "running", "recordingAccessToken": "op-secret"}
        return 200, {"request-id": "graph-1"}, json.dumps(answer)

    mock_http.add_callback("POST", URL, callback=graph)

    session.send(
        "POST", URL, action="record", json={"playBeep": True}, log=DatabaseExchangeLog(call=call)
    )

    (pending,) = rows_while_sending
    assert pending.finished_at is None
    assert pending.response_status is None
    row = GraphExchange.objects.get()
    sent_id = mock_http.calls[0].request.headers["client-request-id"]
    assert row.pk == pending.pk
    assert row.call == call
    assert (row.action, row.method, row.url) == ("record", "POST", URL)
    assert row.request_body == {"playBeep": True}
    assert row.client_request_id == uuid.UUID(sent_id)
    assert row.finished_at is not None
    assert row.response_status == 200
    assert row.graph_request_id == "graph-1"
    assert row.attempts == 1
    assert row.error == ""
    # The operation's access token is a credential: the log keeps its place, not its value.
    assert "op-secret" not in row.response_body
    assert json.loads(row.response_body)["id"] == "op-1"


def test_it_keeps_the_error_of_a_refused_request(session, mock_http, call):
    mock_http.post(
        URL,
        status=404,
        headers={"request-id": "graph-2"},
        json={"error": {"code": "8522", "message": "Call not found"}},
    )
    with pytest.raises(GraphNotFoundError):
        session.send("POST", URL, action="record", json={}, log=DatabaseExchangeLog(call=call))

    row = GraphExchange.objects.get()
    assert row.response_status == 404
    assert row.graph_request_id == "graph-2"
    assert row.error == "GraphNotFoundError: 404 8522: Call not found"
    assert "Call not found" in row.response_body


def test_it_keeps_a_request_that_got_no_answer(session, mock_http, call):
    mock_http.post(URL, body=read_timeout())
    with pytest.raises(GraphNetworkError):
        session.send("POST", URL, action="record", json={}, log=DatabaseExchangeLog(call=call))

    row = GraphExchange.objects.get()
    assert row.response_status is None
    assert row.finished_at is not None
    assert row.error == "GraphNetworkError: no answer before the timeout"


def test_it_links_the_row_to_the_request_and_operation_it_concerns(session, mock_http, call):
    record_request = RecordRequest.objects.create(call=call, profile="v1.0", client_context="x")
    operation = RecordOperation.objects.create(
        graph_id="op-1", call=call, record_request=record_request
    )
    mock_http.get(URL, json={})
    log = DatabaseExchangeLog(call=call, record_request=record_request, operation=operation)

    session.send("GET", URL, action="get operation", log=log)

    row = GraphExchange.objects.get()
    assert (row.call, row.record_request, row.operation) == (call, record_request, operation)


def test_it_refuses_to_finish_what_it_never_started():
    with pytest.raises(RuntimeError):
        DatabaseExchangeLog().finished(200, "", "", 1, None)
