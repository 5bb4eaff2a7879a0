"""Legal hold from the operations list and the operation page."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from recordings.models import RecordOperation
from tests.support.operators import LIST, VIEW, operator

pytestmark = pytest.mark.django_db


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
