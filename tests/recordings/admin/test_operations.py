import csv
import io
import json
from datetime import timedelta

import pytest
import responses
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recordings.admin import operations
from recordings.models import (
    Call,
    FetchStatus,
    GraphExchange,
    Recording,
    RecordOperation,
    RecordRequest,
)
from recordings.services import notifications as notification_services
from tests.conftest import contract_sample
from tests.recordings.admin.operators import operator

pytestmark = pytest.mark.django_db

LIST = "/admin/recordings/recordoperation/"
EXPORT = "/admin/recordings/recordoperation/export/"
VIEW = "view_recordoperation"
TOKEN = "eyJ-recording-access-token-never-shown"
OP_ID = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"


@pytest.fixture(autouse=True)
def _fresh_chart_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def beta_profile(settings):
    settings.GRAPH_API_PROFILE = "beta-record"
    settings.GRAPH_API_BASE_URL = "http://graph.test/beta"


def page_of(operation):
    return reverse("admin:recordings_recordoperation_change", args=[operation.pk])


def cancel_page(operation):
    return reverse("admin:recordings_recordoperation_cancel", args=[operation.pk])


def store(operation, status=FetchStatus.STORED, **fields):
    return Recording.objects.create(
        operation=operation,
        status=status,
        duration_seconds=fields.pop("duration_seconds", 4.25),
        size_bytes=fields.pop("size_bytes", 136_000),
        file=fields.pop("file", "recordings/2026/11/30/op.wav" if status == "stored" else ""),
        **fields,
    )


def completed(make_operation, graph_id=OP_ID, reason="stopToneDetected", **fields):
    return make_operation(
        graph_id=graph_id,
        status="completed",
        completion_reason=reason,
        finished_at=timezone.now(),
        **fields,
    )


def received(body: dict | bytes, **fields):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return notification_services.store_notification(
        body=raw,
        headers={"HTTP_REQUEST_ID": "graph-request-7", "HTTP_CLIENT_REQUEST_ID": "client-7"},
        remote_addr="10.0.0.1",
        claims={"iss": "https://graph.microsoft.com", "aud": "app", "tid": "tenant"},
        **fields,
    )


# --- The list -----------------------------------------------------------------------------


def test_the_list_shows_status_reason_in_words_with_the_raw_value_duration_call_and_who_asked(
    make_operation, django_user_model
):
    operation = completed(make_operation)
    requester = django_user_model.objects.create_user("ada", is_staff=True)
    RecordRequest.objects.filter(pk=operation.record_request_id).update(requested_by=requester)
    store(operation, duration_seconds=4.25)

    page = operator(VIEW).get(LIST).content.decode()

    assert 'class="op-badge op-status-completed">completed<' in page.lower()
    assert 'title="stopToneDetected">Stop tone detected<' in page
    assert "4.2 s" in page or "4.3 s" in page
    assert operation.call.graph_id[:8] in page
    assert ">ada<" in page


def test_a_recorder_reason_is_listed_in_words_instead_of_graphs(make_operation):
    make_operation(status="failed", recorder_reason="callEnded", finished_at=timezone.now())
    page = operator(VIEW).get(LIST).content.decode()
    assert "Closed by Recorder: the call ended without a completion" in page


def test_the_download_link_shows_only_with_the_download_permission(make_operation):
    operation = completed(make_operation)
    store(operation)
    link = reverse("recordings:recording-audio", args=[operation.pk]) + "?download=1"

    assert link not in operator(VIEW).get(LIST).content.decode()
    assert link in operator(VIEW, "download_recording", username="dl").get(LIST).content.decode()


def test_the_download_link_shows_only_once_the_audio_is_stored(make_operation):
    operation = completed(make_operation)
    store(
        operation,
        status=FetchStatus.FAILED,
        link_expired_at=timezone.now(),
        error="Graph answered 404: the recording is gone.",
    )

    page = operator(VIEW, "download_recording").get(LIST).content.decode()

    assert 'class="op-download"' not in page
    assert "Link expired or refused" in page
    assert "Graph answered 404: the recording is gone." in page


def test_a_stored_recording_whose_file_is_missing_offers_no_download(make_operation):
    operation = completed(make_operation)
    store(operation, file="")
    client = operator(VIEW, "download_recording")
    assert 'class="op-download"' not in client.get(LIST).content.decode()
    assert "<audio" not in client.get(page_of(operation)).content.decode()


def test_the_completion_reason_filter_offers_graphs_and_recorders_reasons_without_a_query(
    make_operation, rf, admin_user
):
    request = rf.get(LIST)
    request.user = admin_user
    with CaptureQueriesContext(connection) as queries:
        choices = operations.CompletionReasonFilter(
            request, {}, RecordOperation, None
        ).lookup_choices
    assert not queries.captured_queries
    values = [value for value, _ in choices]
    assert "stopToneDetected" in values and "maxRecordDurationReached" in values
    assert "callEnded" in values and "overdue" in values


def test_the_completion_reason_filter_lists_only_that_reason(make_operation):
    completed(make_operation, graph_id="op-tone", reason="stopToneDetected")
    completed(make_operation, graph_id="op-max", reason="maxRecordDurationReached")
    make_operation(
        graph_id="op-closed", status="failed", recorder_reason="overdue", finished_at=timezone.now()
    )
    client = operator(VIEW)

    tone = client.get(LIST, {"completion_reason": "stopToneDetected"}).content.decode()
    closed = client.get(LIST, {"completion_reason": "overdue"}).content.decode()

    assert 'title="op-tone"' in tone and 'title="op-max"' not in tone
    assert 'title="op-closed"' in closed and 'title="op-tone"' not in closed


def test_search_finds_an_operation_by_its_id_its_calls_id_or_its_client_context_in_any_case(
    make_operation,
):
    other_call = Call.objects.create(graph_id="other-call-0001", state="established")
    target = make_operation()
    other = make_operation(graph_id="someone-else", call=other_call)
    RecordOperation.objects.filter(pk=other.pk).update(client_context="another-context")
    client = operator(VIEW)

    for term in (OP_ID.upper(), target.call.graph_id.upper(), target.client_context):
        page = client.get(LIST, {"q": term}).content.decode()
        assert f'title="{OP_ID}"' in page, term
        assert 'title="someone-else"' not in page, term


def test_the_list_costs_the_same_queries_with_ten_times_the_rows(make_operation, call):
    def fill(count, start):
        for n in range(start, start + count):
            operation = completed(make_operation, graph_id=f"op-{n:05d}")
            store(operation)

    client = operator(VIEW, "download_recording")
    fill(3, 0)
    client.get(LIST)  # warm the chart cache and the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    fill(30, 100)
    cache.clear()
    client.get(LIST)
    with CaptureQueriesContext(connection) as many:
        assert client.get(LIST).status_code == 200

    assert len(many.captured_queries) == len(few.captured_queries)
    assert not [q for q in many.captured_queries if "DISTINCT" in q["sql"].upper()]


def test_the_list_says_more_than_the_cap_instead_of_counting_every_row(make_operation, monkeypatch):
    monkeypatch.setattr(operations.CappedCountPaginator, "CAP", 3)
    for n in range(5):
        make_operation(graph_id=f"op-{n}")
    page = operator(VIEW).get(LIST).content.decode()
    assert "More than 3 record operations" in page


def test_the_date_drill_down_offers_each_month_between_the_first_and_last_operation(
    make_operation,
):
    early, late = make_operation(graph_id="op-early"), make_operation(graph_id="op-late")
    RecordOperation.objects.filter(pk=early.pk).update(
        created_at=timezone.make_aware(timezone.datetime(2026, 2, 3, 12))
    )
    RecordOperation.objects.filter(pk=late.pk).update(
        created_at=timezone.make_aware(timezone.datetime(2026, 5, 6, 12))
    )
    page = operator(VIEW).get(LIST).content.decode()
    for month in ("February 2026", "March 2026", "April 2026", "May 2026"):
        assert month in page
    assert "January 2026" not in page


def test_a_date_that_does_not_exist_is_refused_like_any_bad_filter_not_a_500(make_operation):
    make_operation()
    response = operator(VIEW).get(
        LIST,
        {"created_at__year": 2026, "created_at__month": 2, "created_at__day": 31},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith("?e=1")


# --- The chart ----------------------------------------------------------------------------


def test_the_chart_counts_each_reason_per_window(make_operation):
    now = timezone.now()
    ages = {
        "op-hour": (timedelta(hours=1), "stopToneDetected"),
        "op-day": (timedelta(hours=2), "stopToneDetected"),
        "op-3days": (timedelta(days=3), "stopToneDetected"),
        "op-3days-b": (timedelta(days=3), "initialSilenceTimeout"),
        "op-month": (timedelta(days=30), "initialSilenceTimeout"),
    }
    for graph_id, (age, reason) in ages.items():
        operation = completed(make_operation, graph_id=graph_id, reason=reason)
        RecordOperation.objects.filter(pk=operation.pk).update(created_at=now - age)

    chart = operations.reason_chart(LIST, now=now)

    counts = {
        row["key"]: {cell["key"]: cell["count"] for cell in row["cells"]} for row in chart["rows"]
    }
    assert counts["stopToneDetected"] == {"24h": 2, "7d": 3, "all": 3}
    assert counts["initialSilenceTimeout"] == {"24h": 0, "7d": 1, "all": 2}
    assert [column["total"] for column in chart["columns"]] == [2, 4, 5]


def test_the_chart_is_inline_svg_above_the_list_and_links_each_reason_to_its_filter(
    make_operation,
):
    completed(make_operation)
    page = operator(VIEW).get(LIST).content.decode()
    assert "<svg" in page and "How recordings ended" in page
    assert f"{LIST}?completion_reason=stopToneDetected" in page
    assert "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]


def test_the_chart_costs_one_grouped_query_per_window_then_none_while_cached(make_operation):
    completed(make_operation)
    with CaptureQueriesContext(connection) as first:
        operations.reason_chart(LIST)
    with CaptureQueriesContext(connection) as second:
        operations.reason_chart(LIST)
    grouped = [q for q in first.captured_queries if "GROUP BY" in q["sql"].upper()]
    assert len(grouped) == len(operations.CHART_WINDOWS) == len(first.captured_queries)
    assert not second.captured_queries


# --- The operation page -------------------------------------------------------------------


def test_the_operation_page_shows_the_parameters_sent_in_words(make_operation):
    operation = make_operation(max_record_duration=30)
    RecordRequest.objects.filter(pk=operation.record_request_id).update(
        stop_tones=["#", "*"], play_beep=False, body_sent={"maxRecordDurationInSeconds": 30}
    )
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert "Parameters sent" in page
    assert "30 s" in page and "# *" in page
    assert "not sent (Graph&#x27;s default: no)" in page  # barge-in
    assert "&quot;maxRecordDurationInSeconds&quot;: 30" in page


def test_the_timeline_shows_every_request_and_notification_for_the_operation_only(
    make_operation, call
):
    operation = make_operation()
    GraphExchange.objects.create(
        record_request=operation.record_request,
        action="record",
        method="POST",
        url="http://graph.test/beta/app/calls/x/record",
        request_body={"clientContext": operation.client_context},
        client_request_id="6f1c2b1e-1d1f-4a55-9b65-8f2b1c0a0a01",
        response_status=200,
        response_body=json.dumps({"id": OP_ID, "status": "running"}),
        graph_request_id="graph-request-1",
    )
    mine = received(contract_sample("v1.0/notification-completed"))
    theirs = json.dumps(contract_sample("v1.0/notification-completed"))
    other = received(theirs.replace(OP_ID, "another-operation").encode())
    stale = received(contract_sample("v1.0/notification-completed"))
    Notification = type(stale)
    Notification.objects.filter(pk=stale.pk).update(
        received_at=operation.record_request.requested_at - timedelta(days=2)
    )

    page = operator(VIEW).get(page_of(operation)).content.decode()

    assert "POST record" in page and "graph-request-1" in page
    assert "6f1c2b1e-1d1f-4a55-9b65-8f2b1c0a0a01" in page
    assert reverse("admin:recordings_notification_change", args=[mine.pk]) in page
    assert "deleted: completed, maxRecordDurationReached" in page
    assert "graph-request-7" in page
    assert reverse("admin:recordings_notification_change", args=[other.pk]) not in page
    assert reverse("admin:recordings_notification_change", args=[stale.pk]) not in page


def test_the_access_token_is_on_no_page_and_in_no_export(make_operation, admin_client):
    operation = completed(make_operation, recording_access_token=TOKEN)
    store(operation)
    GraphExchange.objects.create(
        operation=operation,
        action="get operation",
        method="GET",
        url="http://graph.test/beta/communications/calls/x/operations/y",
        client_request_id="6f1c2b1e-1d1f-4a55-9b65-8f2b1c0a0a02",
        response_status=200,
        # Not JSON, so only the pattern and the known-value guards can catch it.
        response_body=f'{{"recordingAccessToken": "{TOKEN}", "status": "completed"',
    )
    body = contract_sample("v1.0/notification-completed")
    body["value"][0]["resourceData"]["recordingAccessToken"] = TOKEN
    notification = received(body)
    exchange = GraphExchange.objects.get(operation=operation)

    pages = [
        LIST,
        page_of(operation),
        reverse("admin:recordings_graphexchange_change", args=[exchange.pk]),
        "/admin/recordings/notification/",
        reverse("admin:recordings_notification_change", args=[notification.pk]),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert TOKEN not in response.content.decode(), url
    export = admin_client.get(EXPORT)
    selected = admin_client.post(
        LIST, {"action": "export_selected_csv", "_selected_action": [operation.pk]}
    )
    for response in (export, selected):
        text = b"".join(response.streaming_content).decode()
        assert OP_ID in text and TOKEN not in text


def test_the_player_and_download_show_for_a_stored_recording_with_its_waveform(make_operation):
    operation = completed(make_operation)
    store(operation, waveform_svg='<svg class="waveform-from-recorder"></svg>')
    audio = reverse("recordings:recording-audio", args=[operation.pk])

    page = operator(VIEW, "download_recording").get(page_of(operation)).content.decode()

    assert f'<audio controls preload="metadata" src="{audio}"' in page
    assert f'href="{audio}?download=1"' in page
    assert '<svg class="waveform-from-recorder"></svg>' in page


def test_the_player_is_hidden_without_the_download_permission(make_operation):
    operation = completed(make_operation)
    store(operation)
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert "<audio" not in page
    assert "Can play and download recordings" in page


def test_the_operation_page_says_why_the_fetch_failed(make_operation):
    operation = completed(make_operation)
    store(
        operation,
        status=FetchStatus.FAILED,
        link_expired_at=timezone.now(),
        error="Graph refused the link (403).",
        attempts=3,
    )
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert "Link expired or refused" in page and "Graph refused the link (403)." in page


def test_the_pages_still_render_when_the_audio_route_is_missing(make_operation, monkeypatch):
    operation = completed(make_operation)
    store(operation)
    monkeypatch.setattr(operations, "reverse", _reverse_without_audio)
    client = operator(VIEW, "download_recording")
    assert client.get(LIST).status_code == 200
    assert client.get(page_of(operation)).status_code == 200


def _reverse_without_audio(name, *args, **kwargs):
    from django.urls import NoReverseMatch
    from django.urls import reverse as real_reverse

    if name == "recordings:recording-audio":
        raise NoReverseMatch(name)
    return real_reverse(name, *args, **kwargs)


# --- Cancelling ---------------------------------------------------------------------------


def test_staff_without_the_cancel_permission_sees_no_cancel_button_and_gets_403(make_operation):
    operation = make_operation()
    client = operator(VIEW)

    assert cancel_page(operation) not in client.get(page_of(operation)).content.decode()
    assert client.get(cancel_page(operation)).status_code == 403
    assert client.post(cancel_page(operation)).status_code == 403


def test_cancel_asks_graph_to_cancel_media_processing_with_the_client_context_and_logs_it(
    make_operation, graph_http, settings
):
    operation = make_operation()
    url = (
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/"
        f"{operation.call.graph_id}/cancelMediaProcessing"
    )
    graph_http.add(responses.POST, url, json={"id": "cancel-1", "status": "completed"})
    client = operator(VIEW, "cancel_recording")

    assert cancel_page(operation) in client.get(page_of(operation)).content.decode()
    assert "Yes, cancel the recording" in client.get(cancel_page(operation)).content.decode()
    response = client.post(cancel_page(operation), follow=True)

    sent = [c for c in graph_http.calls if c.request.url == url]
    assert len(sent) == 1
    assert json.loads(sent[0].request.body) == {"clientContext": operation.client_context}
    entry = LogEntry.objects.get(object_id=str(operation.pk))
    assert entry.action_flag == CHANGE and entry.user == client.user
    assert "cancel" in entry.get_change_message().lower()
    assert "Graph was asked to cancel the recording." in response.content.decode()


def test_a_refused_cancel_is_told_as_a_sentence_and_not_logged(
    make_operation, graph_http, settings
):
    operation = make_operation()
    url = (
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/"
        f"{operation.call.graph_id}/cancelMediaProcessing"
    )
    graph_http.add(
        responses.POST,
        url,
        status=404,
        json={"error": {"code": "8522", "message": "Call not found"}},
    )
    response = operator(VIEW, "cancel_recording").post(cancel_page(operation), follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1 and messages[0].endswith(".")
    assert "Traceback" not in messages[0]
    assert not LogEntry.objects.exists()


def test_an_ended_operation_offers_no_cancel(make_operation):
    operation = completed(make_operation)
    client = operator(VIEW, "cancel_recording")
    assert cancel_page(operation) not in client.get(page_of(operation)).content.decode()
    response = client.post(cancel_page(operation), follow=True)
    assert "already ended" in response.content.decode()


# --- Legal hold and CSV -------------------------------------------------------------------


def test_legal_hold_actions_set_and_release_the_flag_and_log_each_operation(make_operation):
    first, second = make_operation(graph_id="op-1"), make_operation(graph_id="op-2")
    client = operator(VIEW, "change_recordoperation")

    client.post(LIST, {"action": "put_on_legal_hold", "_selected_action": [first.pk, second.pk]})
    assert set(RecordOperation.objects.values_list("legal_hold", flat=True)) == {True}
    assert LogEntry.objects.filter(change_message="Put on legal hold.").count() == 2

    client.post(LIST, {"action": "release_legal_hold", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert first.legal_hold is False
    assert LogEntry.objects.filter(change_message="Released from legal hold.").count() == 1


def test_staff_without_the_change_permission_sees_no_legal_hold_action(make_operation):
    operation = make_operation()
    page = operator(VIEW).get(LIST).content.decode()
    assert "put_on_legal_hold" not in page
    response = operator(VIEW, username="other").post(
        reverse("admin:recordings_recordoperation_legal_hold", args=[operation.pk]),
        {"legal_hold": "on"},
    )
    assert response.status_code == 403


def test_the_export_button_exports_the_filtered_list_as_csv(make_operation):
    completed(make_operation, graph_id="op-tone", reason="stopToneDetected")
    completed(make_operation, graph_id="op-max", reason="maxRecordDurationReached")
    client = operator(VIEW)

    assert f'href="{EXPORT}?"' in client.get(LIST).content.decode()
    page = client.get(LIST, {"completion_reason": "stopToneDetected"}).content.decode()
    assert f'href="{EXPORT}?completion_reason=stopToneDetected"' in page
    response = client.get(EXPORT, {"completion_reason": "stopToneDetected"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "operation id"
    assert [row[0] for row in rows[1:]] == ["op-tone"]


def test_a_spreadsheet_formula_in_a_csv_cell_is_defused(make_operation):
    operation = make_operation()
    RecordOperation.objects.filter(pk=operation.pk).update(client_context='=HYPERLINK("x")')
    response = operator(VIEW).get(EXPORT)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    context = rows[1][[h for h in rows[0]].index("client context")]
    assert context.startswith("'=")
