import pytest
import responses
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.timezone import now

from recordings.admin import changelist
from recordings.models import Call, CallState
from tests.support.operators import VIEW_CALL, operator

pytestmark = pytest.mark.django_db

LIST = "/admin/recordings/call/"


def call_page(call):
    return reverse("admin:recordings_call_change", args=[call.pk])


def record_page(call):
    return reverse("admin:recordings_call_record", args=[call.pk])


def hang_up_page(call):
    return reverse("admin:recordings_call_hang_up", args=[call.pk])


def make_calls(count, **fields):
    return [
        Call.objects.create(
            graph_id=f"call-{n:04d}-{fields.get('state', 'established')}",
            state=fields.get("state", CallState.ESTABLISHED),
            direction=fields.get("direction", Call.Direction.INCOMING),
            caller_id=f"+1555010{n:04d}",
        )
        for n in range(count)
    ]


def test_the_call_list_shows_each_calls_state_caller_direction_and_latest_recording(
    call, make_operation
):
    call.caller_name = "Ada Lovelace"
    call.save()
    make_operation(graph_id="op-old", status="failed", completion_reason="operationCanceled")
    newest = make_operation(
        graph_id="op-new", status="completed", completion_reason="stopToneDetected"
    )

    page = operator(VIEW_CALL).get(LIST).content.decode()

    assert "Ada Lovelace (+12345678901)" in page
    assert "established" in page and "incoming" in page
    assert "Stop tone detected" in page
    assert "Operation canceled" not in page  # only the newest operation is shown
    assert reverse("admin:recordings_recordoperation_change", args=[newest.pk]) in page


def test_the_call_list_names_recorders_own_reason_for_an_operation_it_closed(call, make_operation):
    make_operation(status="failed", recorder_reason="callEnded")
    page = operator(VIEW_CALL).get(LIST).content.decode()
    assert "Closed by Recorder: the call ended without a completion" in page


def test_the_call_list_costs_the_same_queries_for_three_calls_or_thirty(make_operation):
    client = operator(VIEW_CALL)

    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    for call in make_calls(3):
        make_operation(graph_id=f"op-{call.pk}", call=call)
    few = queries_for_list()
    for call in make_calls(30, state="hold"):
        make_operation(graph_id=f"op-{call.pk}", call=call)
    assert queries_for_list() == few


def test_the_latest_operation_is_read_by_a_subquery_ordered_like_the_call_index(call):
    client = operator(VIEW_CALL)
    with CaptureQueriesContext(connection) as captured:
        client.get(LIST)
    listing = next(
        q["sql"] for q in captured if 'FROM "recordings_call"' in q["sql"] and "LIMIT" in q["sql"]
    )
    assert 'FROM "recordings_recordoperation"' in listing
    assert (
        'WHERE "U0"."call_id" = ("recordings_call"."id") ORDER BY "U0"."created_at" DESC' in listing
    )


def test_the_call_list_filters_by_state_and_direction():
    make_calls(2)
    ended = make_calls(1, state="terminated")[0]
    client = operator(VIEW_CALL)

    page = client.get(LIST, {"state__exact": "terminated"}).content.decode()
    assert ended.graph_id in page and "call-0000-established" not in page
    page = client.get(LIST, {"direction__exact": "outgoing"}).content.decode()
    assert "call-0000" not in page


def test_the_call_list_finds_a_call_by_its_whole_id_in_any_case_or_by_part_of_the_caller():
    first, second = make_calls(2)
    client = operator(VIEW_CALL)

    page = client.get(LIST, {"q": first.graph_id.upper()}).content.decode()
    assert first.graph_id in page and second.graph_id not in page
    page = client.get(LIST, {"q": second.caller_id[-4:]}).content.decode()
    assert second.graph_id in page and first.graph_id not in page
    page = client.get(LIST, {"q": "0000-established"}).content.decode()  # not its start
    assert first.graph_id not in page


def test_a_live_call_page_shows_record_and_hang_up_to_a_user_with_both_permissions(call):
    page = operator(VIEW_CALL, "start_recording", "hang_up_call").get(call_page(call))
    html = page.content.decode()
    assert f'href="{record_page(call)}"' in html
    assert f'href="{hang_up_page(call)}"' in html


def test_a_staff_user_without_start_recording_sees_no_record_button_or_action_and_gets_403(call):
    client = operator(VIEW_CALL, "hang_up_call")

    assert record_page(call) not in client.get(call_page(call)).content.decode()
    assert "record_selected" not in client.get(LIST).content.decode()
    assert client.get(record_page(call)).status_code == 403
    assert client.post(record_page(call), {}).status_code == 403
    response = client.post(LIST, {"action": "record_selected", "_selected_action": [call.pk]})
    assert "record" not in response.get("Location", "")


def test_a_staff_user_without_hang_up_call_sees_no_hang_up_button_and_gets_403(call):
    client = operator(VIEW_CALL, "start_recording")

    assert hang_up_page(call) not in client.get(call_page(call)).content.decode()
    assert client.get(hang_up_page(call)).status_code == 403
    assert client.post(hang_up_page(call)).status_code == 403


def test_an_ended_call_offers_neither_record_nor_hang_up(call):
    call.state = CallState.TERMINATED
    call.save()
    html = operator(VIEW_CALL, "start_recording", "hang_up_call").get(call_page(call))
    assert record_page(call) not in html.content.decode()
    assert hang_up_page(call) not in html.content.decode()


def test_the_call_page_lists_its_recordings_with_their_outcome(call, make_operation):
    make_operation(status="completed", completion_reason="maxRecordDurationReached")
    html = operator(VIEW_CALL).get(call_page(call)).content.decode()
    assert "Completed, Max record duration reached" in html


def test_hang_up_asks_for_confirmation_first(call, graph_http):
    response = operator("hang_up_call").get(hang_up_page(call))
    assert response.status_code == 200
    assert "Yes, hang up" in response.content.decode()
    assert not [c for c in graph_http.calls if "graph.test" in c.request.url]


def test_hanging_up_asks_graph_to_end_the_call_and_logs_who_did(call, graph_http, settings):
    graph_http.add(
        responses.DELETE,
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}",
        status=204,
    )
    client = operator(VIEW_CALL, "hang_up_call")

    response = client.post(hang_up_page(call), follow=True)

    assert graph_http.calls[-1].request.method == "DELETE"
    assert "Asked Graph to hang up" in response.content.decode()
    entry = LogEntry.objects.get()
    assert (entry.user, entry.action_flag, entry.object_id) == (client.user, CHANGE, str(call.pk))
    assert entry.get_change_message() == "Hung up the call."


def test_when_graph_cannot_hang_up_the_operator_reads_why_and_nothing_is_logged(
    call, graph_http, settings
):
    graph_http.add(
        responses.DELETE,
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}",
        status=404,
        json={"error": {"code": "8522", "message": "Call not found"}},
    )
    response = operator(VIEW_CALL, "hang_up_call").post(hang_up_page(call), follow=True)
    assert "Graph no longer knows this call" in response.content.decode()
    assert not LogEntry.objects.exists()


def test_record_selected_calls_opens_the_record_page_for_the_live_ones(call):
    ended = make_calls(1, state="terminated")[0]
    other = make_calls(1)[0]
    client = operator(VIEW_CALL, "start_recording")

    response = client.post(
        LIST, {"action": "record_selected", "_selected_action": [call.pk, ended.pk, other.pk]}
    )

    assert response.status_code == 302
    assert response.url == f"{record_page(call)}?calls={call.pk}%2C{other.pk}"
    page = client.get(response.url).content.decode()
    assert "Record 2 calls" in page and "Start recording on 2 calls" in page
    assert ended.graph_id not in page


def test_record_selected_calls_with_none_live_stays_on_the_list_and_says_why():
    ended = make_calls(1, state="terminated")[0]
    client = operator(VIEW_CALL, "start_recording")
    response = client.post(
        LIST, {"action": "record_selected", "_selected_action": [ended.pk]}, follow=True
    )
    assert response.request["PATH_INFO"] == LIST
    assert "None of the selected calls is live" in response.content.decode()


@pytest.mark.parametrize("status", ["running", "notStarted"])
def test_a_call_with_a_recording_under_way_offers_no_record_but_the_running_one_and_its_cancel(
    call, make_operation, status
):
    operation = make_operation(status=status)
    client = operator(VIEW_CALL, "start_recording", "cancel_recording", "view_recordoperation")

    html = client.get(call_page(call)).content.decode()

    assert f'href="{record_page(call)}"' not in html
    change = reverse("admin:recordings_recordoperation_change", args=[operation.pk])
    cancel = reverse("admin:recordings_recordoperation_cancel", args=[operation.pk])
    assert f'href="{change}"' in html
    assert f'href="{cancel}"' in html
    assert "Record is offered again when it ends." in html


def test_the_record_page_of_a_busy_call_sends_the_operator_back_saying_why(call, make_operation):
    make_operation(status="running")
    response = operator(VIEW_CALL, "start_recording").get(record_page(call), follow=True)
    assert response.redirect_chain[-1][0] == call_page(call)
    assert "wait for it to end, or cancel it, before recording again." in (
        response.content.decode()
    )


def test_a_call_whose_recording_ended_offers_record_again(call, make_operation):
    make_operation(status="completed", completion_reason="stopToneDetected", finished_at=now())
    html = operator(VIEW_CALL, "start_recording").get(call_page(call)).content.decode()
    assert f'href="{record_page(call)}"' in html
    assert "Record is offered again" not in html


def test_the_call_list_says_more_than_the_cap_instead_of_counting_every_call(monkeypatch):
    monkeypatch.setattr(changelist.CappedCountPaginator, "CAP", 3)
    for n in range(5):
        Call.objects.create(graph_id=f"capped-call-{n}", state=CallState.ESTABLISHED)
    client = operator(VIEW_CALL, username="counter")

    with CaptureQueriesContext(connection) as queries:
        page = client.get(LIST).content.decode()

    assert "More than 3 calls" in page
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
