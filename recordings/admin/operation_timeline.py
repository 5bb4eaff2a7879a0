"""The operation page's timeline: every request Recorder sent Graph about the operation and
every notification Graph sent about it, oldest first."""

from django.urls import reverse

from recordings import selectors
from recordings.display import summarize_notification
from recordings.models import RecordOperation
from recordings.redaction import pretty_payload

HEADER_IDS = (
    ("client-request-id", "HTTP_CLIENT_REQUEST_ID"),
    ("request-id", "HTTP_REQUEST_ID"),
    ("scenario-id", "HTTP_SCENARIO_ID"),
)


def operation_timeline(operation: RecordOperation) -> tuple[list[dict], bool]:
    """Every outbound request and every notification about the operation, oldest first.
    Returns the entries and whether notifications were cut at the cap."""
    secrets = [operation.recording_access_token]
    entries = []
    for exchange in selectors.exchanges_for(operation):
        outcome = (
            str(exchange.response_status)
            if exchange.response_status
            else ("no answer" if exchange.error else "waiting for an answer")
        )
        entries.append(
            {
                "at": exchange.started_at,
                "direction": "out",
                "kind": f"{exchange.method} {exchange.action}",
                "outcome": outcome,
                "failed": bool(exchange.error) or (exchange.response_status or 0) >= 400,
                "ids": [
                    ("client-request-id", str(exchange.client_request_id)),
                    ("request-id", exchange.graph_request_id),
                ],
                "url": exchange.url,
                "attempts": exchange.attempts,
                "error": exchange.error,
                "sent": pretty_payload(exchange.request_body, secrets=secrets),
                "answer": pretty_payload(exchange.response_body, secrets=secrets),
                "admin_url": reverse("admin:recordings_graphexchange_change", args=[exchange.pk]),
            }
        )
    notifications = list(selectors.notifications_for(operation))
    for notification in notifications:
        entries.append(
            {
                "at": notification.received_at,
                "direction": "in",
                "kind": "Notification",
                "outcome": summarize_notification(notification.body).about(operation.graph_id),
                "failed": bool(notification.error),
                "ids": [
                    (label, notification.headers.get(header, "")) for label, header in HEADER_IDS
                ],
                "error": notification.error,
                "received": pretty_payload(notification.body, secrets=secrets),
                "admin_url": reverse(
                    "admin:recordings_notification_change", args=[notification.pk]
                ),
            }
        )
    entries.sort(key=lambda entry: entry["at"])
    return entries, len(notifications) == selectors.TIMELINE_MAX_NOTIFICATIONS
