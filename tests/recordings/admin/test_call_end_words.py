"""How a recording a hang-up cut short reads: the same words on every page and export."""

import csv
import io

import pytest
from django.utils import timezone

from recordings.admin import operation_chart
from recordings.display import known_reasons
from tests.support.operators import EXPORT, LIST, VIEW, VIEW_CALL, operator

pytestmark = pytest.mark.django_db

HUNG_UP = "The caller hung up"
OPERATOR = "An operator ended the call"


def cut_short(make_operation, reason="callerHungUp", **fields):
    return make_operation(
        status="failed", recorder_reason=reason, finished_at=timezone.now(), **fields
    )


def test_the_operations_list_and_its_filter_say_the_caller_hung_up(make_operation):
    cut_short(make_operation)
    client = operator(VIEW)
    assert HUNG_UP in client.get(LIST).content.decode()
    filtered = client.get(LIST, {"completion_reason": "callerHungUp"}).content.decode()
    assert HUNG_UP in filtered
    assert ("callerHungUp", HUNG_UP) in known_reasons()
    assert ("operatorEnded", OPERATOR) in known_reasons()


def test_no_reason_reads_none(make_operation):
    assert not [label for _, label in known_reasons() if label.lower() == "none"]


def test_the_chart_names_the_hang_up(make_operation):
    cut_short(make_operation)
    cut_short(make_operation, graph_id="op-2", reason="operatorEnded")
    labels = {row["key"]: row["label"] for row in operation_chart.reason_chart(LIST)["rows"]}
    assert labels["callerHungUp"] == HUNG_UP
    assert labels["operatorEnded"] == OPERATOR


def test_the_csv_export_carries_the_reason_in_words(make_operation):
    cut_short(make_operation)
    response = operator(VIEW).get(EXPORT)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][rows[0].index("recorder reason")] == "callerHungUp"
    assert rows[1][rows[0].index("reason")] == HUNG_UP


def test_the_call_list_says_an_operator_ended_the_call(make_operation):
    cut_short(make_operation, reason="operatorEnded")
    page = operator(VIEW_CALL).get("/admin/recordings/call/").content.decode()
    assert OPERATOR in page


def ended(call, ended_by, code, subcode, message):
    call.state, call.ended_at, call.ended_by = "terminated", timezone.now(), ended_by
    call.result_code, call.result_subcode, call.result_message = code, subcode, message
    call.save()


def test_a_call_graph_ended_for_want_of_a_keepalive_says_so_with_the_code_on_hover(call):
    ended(call, "noKeepAlive", 408, 8537, "No keepAlive received.")
    client = operator(VIEW_CALL)
    words = "Graph ended the call: no keepAlive for 45 minutes"
    hover = f'<span title="408/8537: No keepAlive received.">{words}</span>'
    page = client.get(f"/admin/recordings/call/{call.pk}/change/").content.decode()
    assert hover in page
    assert hover in client.get("/admin/recordings/call/").content.decode()


def test_the_call_list_says_who_ended_each_call(call):
    ended(call, "caller", 200, 5002, "All other participants left.")
    page = operator(VIEW_CALL).get("/admin/recordings/call/").content.decode()
    assert '<span title="200/5002: All other participants left.">The caller hung up</span>' in page


def test_a_live_call_shows_no_end(call):
    page = operator(VIEW_CALL).get("/admin/recordings/call/").content.decode()
    assert "hung up" not in page and "ended the call" not in page
