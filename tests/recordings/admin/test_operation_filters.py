"""The operations list's completion reason filter and its search by whole ids."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recordings.admin import operation_filters
from recordings.models import Call, RecordOperation
from tests.support.factories import completed
from tests.support.graph import OP_ID
from tests.support.operators import LIST, VIEW, operator

pytestmark = pytest.mark.django_db


def test_the_completion_reason_filter_offers_graphs_and_recorders_reasons_without_a_query(
    make_operation, rf, admin_user
):
    request = rf.get(LIST)
    request.user = admin_user
    with CaptureQueriesContext(connection) as queries:
        choices = operation_filters.CompletionReasonFilter(
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
