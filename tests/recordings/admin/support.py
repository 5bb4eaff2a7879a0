"""Rows and addresses the operations admin's tests share."""

import json

from django.urls import reverse
from django.utils import timezone

from recordings.models import FetchStatus, Recording
from recordings.services import notifications as notification_services

LIST = "/admin/recordings/recordoperation/"
EXPORT = "/admin/recordings/recordoperation/export/"
VIEW = "view_recordoperation"
TOKEN = "eyJ-recording-access-token-never-shown"
OP_ID = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"


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
