"""The admin pages that show stored notifications, fetched as an operator would."""

from django.test import Client
from django.urls import reverse

from recordings.models import Notification, RecordOperation

NOTIFICATIONS = "/admin/recordings/notification/"
# Every page that reads a stored notification, for each filter of the log.
NOTIFICATION_LIST_QUERIES = (
    {},
    {"errored": "yes"},
    {"errored": "no"},
    {"processed": "no"},
    {"matched": "no"},
    {"verified": "yes"},
)
OPERATION_PERMISSIONS = ("view_notification", "view_recordoperation")


def assert_pages_show(
    client: Client,
    notifications: list[Notification],
    operation: RecordOperation | None = None,
    *,
    list_queries: tuple[dict, ...] = NOTIFICATION_LIST_QUERIES,
    export: bool = True,
) -> None:
    """Every admin page that reads these rows answers 200: the log and its filters, each
    row's own page and, given an operation, that operation's page (its timeline) and the
    operations list's CSV export."""
    for query in list_queries:
        response = client.get(NOTIFICATIONS, query)
        assert response.status_code == 200, (query, response.status_code)
    for notification in notifications:
        page = reverse("admin:recordings_notification_change", args=[notification.pk])
        response = client.get(page)
        assert response.status_code == 200, (notification.pk, response.status_code)
    if operation is not None:
        page = reverse("admin:recordings_recordoperation_change", args=[operation.pk])
        response = client.get(page)
        assert response.status_code == 200, response.status_code
    if operation is not None and export:
        csv = client.get(reverse("admin:recordings_recordoperation_export"))
        assert csv.status_code == 200
        assert b"operation id" in b"".join(csv.streaming_content)
