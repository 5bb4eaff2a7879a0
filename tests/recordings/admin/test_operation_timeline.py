"""The operation page's timeline of requests and notifications."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from recordings.models import GraphExchange
from tests.support.factories import received
from tests.support.graph import OP_ID, graph_fixture
from tests.support.operators import VIEW, operator, page_of

pytestmark = pytest.mark.django_db


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
    mine = received(graph_fixture("v1.0/notification-completed"))
    theirs = json.dumps(graph_fixture("v1.0/notification-completed"))
    other = received(theirs.replace(OP_ID, "another-operation").encode())
    stale = received(graph_fixture("v1.0/notification-completed"))
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
