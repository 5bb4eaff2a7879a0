import json

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from recordings.models import Notification, OperationStatus
from recordings.services import notifications as notification_services
from tests.support.graph import graph_fixture
from tests.support.operators import operator

pytestmark = pytest.mark.django_db

LIST = "/admin/recordings/notification/"
VIEW = "view_notification"
OP_ID = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"


def received(body, **fields) -> Notification:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return notification_services.store_notification(
        body=raw,
        headers={"HTTP_REQUEST_ID": "graph-request-7"},
        remote_addr="10.0.0.1",
        claims={"iss": "https://graph.microsoft.com", "aud": "app", "tid": "tenant"},
        **fields,
    )


def listed(client, **query) -> list[int]:
    response = client.get(LIST, query)
    assert response.status_code == 200
    return sorted(row.pk for row in response.context["cl"].result_list)


def test_a_completion_that_arrived_before_its_operation_is_applied_again_by_the_action(
    make_operation,
):
    early = received(graph_fixture("v1.0/notification-completed"))
    notification_services.apply_notification(early)
    early.refresh_from_db()
    assert early.matched is False
    # The operation appears later without the notification being applied on its own.
    operation = make_operation()
    client = operator(VIEW, "change_notification")

    response = client.post(LIST, {"action": "reapply", "_selected_action": [early.pk]}, follow=True)

    operation.refresh_from_db()
    early.refresh_from_db()
    assert operation.status == OperationStatus.COMPLETED
    assert operation.completion_reason == "maxRecordDurationReached"
    assert early.matched is True
    assert "Re-applied 1 notification." in response.content.decode()
    assert LogEntry.objects.get(object_id=str(early.pk)).get_change_message() == "Re-applied."


def test_a_notification_that_fails_again_keeps_its_error_and_says_so(make_operation):
    broken = received(b"{not json")
    response = operator(VIEW, "change_notification").post(
        LIST, {"action": "reapply", "_selected_action": [broken.pk]}, follow=True
    )
    broken.refresh_from_db()
    assert broken.error.startswith("The body is not valid JSON")
    assert "could not be applied" in response.content.decode()
    assert not LogEntry.objects.exists()


def test_staff_who_may_only_read_the_log_get_no_reapply_action(make_operation):
    notification = received(graph_fixture("v1.0/notification-completed"))
    client = operator(VIEW)
    assert 'value="reapply"' not in client.get(LIST).content.decode()
    client.post(LIST, {"action": "reapply", "_selected_action": [notification.pk]})
    notification.refresh_from_db()
    assert notification.processed_at is None


def test_the_log_filters_unmatched_errored_processed_and_verified_notifications(make_operation):
    applied = received(graph_fixture("v1.0/notification-call-established"))
    notification_services.apply_notification(applied)
    waiting = received(graph_fixture("v1.0/notification-completed"))
    notification_services.apply_notification(waiting)
    errored = received(b"{not json", error="The body is not valid JSON.")
    unread = received(graph_fixture("v1.0/notification-canceled"))
    unverified = Notification.objects.create(body=b"{}", body_sha256="x", token_claims={})
    client = operator(VIEW)

    assert listed(client, matched="no") == [waiting.pk]
    assert listed(client, errored="yes") == [errored.pk]
    assert listed(client, processed="no") == sorted([errored.pk, unread.pk, unverified.pk])
    assert listed(client, processed="yes") == sorted([applied.pk, waiting.pk])
    assert listed(client, verified="no") == [unverified.pk]


def test_the_log_says_what_each_notification_is_about_and_links_its_operation():
    received(graph_fixture("v1.0/notification-completed"))
    page = operator(VIEW).get(LIST).content.decode()
    assert "deleted operation 0fe0623f…: completed, maxRecordDurationReached" in page
    operations = reverse("admin:recordings_recordoperation_changelist")
    assert f'href="{operations}?q={OP_ID}"' in page


def test_the_notification_page_shows_the_payload_pretty_with_the_token_hidden():
    body = graph_fixture("v1.0/notification-completed")
    body["value"][0]["resourceData"]["recordingAccessToken"] = "secret-recording-token"
    notification = received(body)
    page = operator(VIEW).get(
        reverse("admin:recordings_notification_change", args=[notification.pk])
    )
    text = page.content.decode()
    assert "secret-recording-token" not in text
    assert "&quot;recordingAccessToken&quot;: &quot;[redacted]&quot;" in text
    assert "issuer <code>https://graph.microsoft.com</code>" in text
