"""The live routes the pages poll: the cells of their rows as JSON, 304 while nothing moved,
the view permission checked, and the same queries however many rows the table holds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recordings.models import Call, CallState, RecordOperation
from tests.support.factories import completed, store
from tests.support.operators import LIST, VIEW, VIEW_CALL, operator, page_of

pytestmark = pytest.mark.django_db

LIVE = "/admin/recordings/recordoperation/live/"
CALLS_LIVE = "/admin/recordings/call/live/"


def test_a_running_operation_is_marked_for_the_page_to_keep_asking_about(make_operation):
    running = make_operation(graph_id="op-running")
    done = completed(make_operation, graph_id="op-done")
    store(done)
    page = operator(VIEW).get(LIST).content.decode()
    assert f'data-live="op:{running.pk}:status" data-live-url="{LIVE}" data-live-active' in page
    assert f'data-live="op:{done.pk}:status" data-live-url="{LIVE}">' in page
    assert "recordings/live.js" in page


def test_the_live_route_answers_the_rows_cells_and_whether_any_still_runs(make_operation):
    operation = make_operation()
    client = operator(VIEW)
    answer = client.get(LIVE, {"ids": str(operation.pk)}).json()
    assert answer["active"] is True
    assert "Running" in answer["rows"][str(operation.pk)]["cells"]["status"]

    RecordOperation.objects.filter(pk=operation.pk).update(
        status="completed", completion_reason="stopToneDetected", finished_at=operation.created_at
    )
    row = client.get(LIVE, {"ids": str(operation.pk)}).json()["rows"][str(operation.pk)]
    assert "Completed" in row["cells"]["status"]
    assert "Stop tone detected" in row["cells"]["reason"]
    assert row["active"] is False


def test_the_audio_still_being_fetched_keeps_the_row_active_and_the_player_comes_with_it(
    make_operation,
):
    operation = completed(make_operation)
    recording = store(operation, status="fetching")
    client = operator(VIEW, "download_recording")
    row = client.get(LIVE, {"ids": operation.pk, "detail": "1"}).json()["rows"][str(operation.pk)]
    assert row["active"] is True and "Fetching" in row["cells"]["audio_section"]

    recording.status, recording.file = "stored", "recordings/2026/11/30/op.wav"
    recording.save()
    row = client.get(LIVE, {"ids": operation.pk, "detail": "1"}).json()["rows"][str(operation.pk)]
    assert row["active"] is False
    assert '<audio controls preload="metadata"' in row["cells"]["audio_section"]
    assert 'preload="none"' in row["cells"]["audio"]


def test_an_unchanged_state_is_answered_304_without_a_body(make_operation):
    operation = make_operation()
    client = operator(VIEW)
    first = client.get(LIVE, {"ids": operation.pk})
    again = client.get(LIVE, {"ids": operation.pk}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""

    RecordOperation.objects.filter(pk=operation.pk).update(
        status="completed", finished_at=timezone.now(), updated_at=timezone.now()
    )
    moved = client.get(LIVE, {"ids": operation.pk}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert moved.status_code == 200 and moved["ETag"] != first["ETag"]


def test_the_live_routes_need_the_view_permission(make_operation):
    operation = make_operation()
    assert operator("view_call").get(LIVE, {"ids": operation.pk}).status_code == 403
    assert operator(VIEW, username="viewer").get(CALLS_LIVE, {"ids": 1}).status_code == 403


def test_the_operation_page_polls_its_status_audio_and_reason(make_operation):
    operation = make_operation()
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert f'data-live="op:{operation.pk}:status" data-live-url="{LIVE}?detail=1"' in page
    assert f'data-live="op:{operation.pk}:audio_section"' in page
    assert f'data-live="op:{operation.pk}:reason_detail"' in page


def test_the_call_list_and_page_poll_the_latest_recording(make_operation, call):
    operation = make_operation()
    client = operator(VIEW_CALL)
    page = client.get("/admin/recordings/call/").content.decode()
    assert f'data-live="call:{call.pk}:latest_status" data-live-url="{CALLS_LIVE}"' in page
    page = client.get(reverse("admin:recordings_call_change", args=[call.pk])).content.decode()
    assert f'data-live-url="{CALLS_LIVE}?detail=1" data-live-active' in page

    RecordOperation.objects.filter(pk=operation.pk).update(
        status="completed", completion_reason="maxSilenceTimeout", finished_at=operation.created_at
    )
    row = client.get(CALLS_LIVE, {"ids": call.pk, "detail": "1"}).json()["rows"][str(call.pk)]
    assert "Completed" in row["cells"]["latest_status"]
    assert "Max silence timeout" in row["cells"]["latest_reason"]
    assert "Completed" in row["cells"]["recordings_on_call"]
    assert row["active"] is False


def live_page_cost(client, url, ids, polls=60) -> dict:
    """One open page for a minute (a poll a second): requests, queries per request, bytes."""
    queries, sent = [], 0
    etag = None
    for _ in range(polls):
        headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, {"ids": ",".join(map(str, ids))}, **headers)
        etag = response["ETag"]
        queries.append(len(captured.captured_queries))
        sent += len(response.content)
    return {"requests": polls, "queries": queries, "bytes": sent}


def test_an_open_page_costs_the_same_queries_with_10_or_1000_rows_and_304s_send_nothing(
    make_operation, call
):
    page_rows = [make_operation(graph_id=f"op-{n:05d}").pk for n in range(10)]
    client = operator(VIEW, "download_recording")
    few = live_page_cost(client, LIVE, page_rows)
    for n in range(990):
        make_operation(graph_id=f"more-{n:05d}")
    assert RecordOperation.objects.count() == 1000
    many = live_page_cost(client, LIVE, page_rows)
    print(
        f"\nlive page, 1000 rows: {many['requests']} requests/min, "
        f"{max(many['queries'])} queries/request, {many['bytes']} bytes/min"
    )

    assert set(few["queries"]) == set(many["queries"])
    assert len(set(many["queries"])) == 1  # a 304 costs the same queries as a full answer
    first_answer = client.get(LIVE, {"ids": ",".join(map(str, page_rows))})
    assert many["bytes"] == len(first_answer.content)  # 59 of the 60 polls were 304s


def test_the_calls_live_route_costs_the_same_queries_for_more_calls(make_operation, call):
    make_operation()
    client = operator(VIEW_CALL)
    few = live_page_cost(client, CALLS_LIVE, [call.pk], polls=3)
    Call.objects.bulk_create(
        Call(graph_id=f"c-{n:05d}", state=CallState.ESTABLISHED) for n in range(1000)
    )
    many = live_page_cost(client, CALLS_LIVE, [call.pk], polls=3)
    assert few["queries"] == many["queries"]


def test_the_chart_is_counted_again_when_the_list_says_a_row_ended(make_operation):
    client = operator(VIEW)
    operation = make_operation()
    client.get(LIST)  # the chart's counts are cached: one running operation, no reason
    RecordOperation.objects.filter(pk=operation.pk).update(
        status="completed", completion_reason="stopToneDetected", finished_at=timezone.now()
    )
    stale = client.get(LIVE + "chart/").json()["html"]
    fresh = client.get(LIVE + "chart/", {"fresh": "1"}).json()["html"]
    assert "Stop tone detected" not in stale
    assert "Stop tone detected" in fresh
    assert 'data-live-chart="' in client.get(LIST).content.decode()
