"""Graph queues media operations: a second record starts when the running one ends."""

import pytest
import responses
from django.urls import reverse

from recordings.graph.errors import GraphRequestError
from tests.support.operators import LIST, VIEW, VIEW_CALL, operator

pytestmark = pytest.mark.django_db

QUEUED_ID = "a2c0ffee-0000-4000-8000-000000000002"


def test_a_queued_operation_shows_as_queued(make_operation):
    make_operation(graph_id=QUEUED_ID, status="notStarted")
    page = operator(VIEW).get(LIST).content.decode()
    assert '<span class="op-badge op-status-notStarted">Queued</span>' in page


def test_the_call_page_offers_the_running_recordings_cancel(call, make_operation):
    running = make_operation()
    make_operation(graph_id=QUEUED_ID, status="notStarted")
    client = operator(VIEW_CALL, "cancel_recording")
    page = client.get(reverse("admin:recordings_call_change", args=[call.pk])).content.decode()
    assert reverse("admin:recordings_recordoperation_cancel", args=[running.pk]) in page
    assert "Queued" in page


def test_an_operator_who_may_not_cancel_is_not_offered_it(call, make_operation):
    make_operation()
    page = operator(VIEW_CALL).get(reverse("admin:recordings_call_change", args=[call.pk]))
    assert "Cancel the running recording" not in page.content.decode()


def test_graphs_busy_refusal_says_the_call_is_busy_not_that_the_settings_are_wrong(
    call, graph_http, settings
):
    graph_http.add(
        responses.POST,
        f"{settings.GRAPH_API_BASE_URL}/app/calls/{call.graph_id}/record",
        status=400,
        json={
            "error": {
                "code": "BadRequest",
                "message": "A record operation is already running on this call.",
            }
        },
    )
    settings.GRAPH_API_PROFILE = "beta-record"
    client = operator(VIEW_CALL, "start_recording", "view_recordoperation")
    data = {
        "prompts-TOTAL_FORMS": "0",
        "prompts-INITIAL_FORMS": "0",
        "prompts-MIN_NUM_FORMS": "0",
        "prompts-MAX_NUM_FORMS": "1000",
        "max_record_duration": "5",
    }
    html = client.post(reverse("admin:recordings_call_record", args=[call.pk]), data)
    html = html.content.decode()
    assert "Graph is still busy with another recording or prompt on this call" in html
    assert "correct the settings" not in html


@pytest.mark.parametrize(
    ("code", "message", "busy"),
    [
        ("OperationInProgress", "Another operation is running.", True),
        ("BadRequest", "A record operation is already running on this call.", True),
        ("BadRequest", "maxRecordDurationInSeconds must be from 1 to 120.", False),
    ],
)
def test_a_busy_refusal_is_told_apart_from_a_wrong_request(code, message, busy):
    assert GraphRequestError(message, status=400, code=code).is_busy is busy
