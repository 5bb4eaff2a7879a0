"""Rows as Recorder keeps them, made directly: operations, recordings, notifications."""

import json

from django.utils import timezone

from recordings.models import (
    FetchStatus,
    Recording,
    RecordOperation,
    RecordRequest,
    RequestStatus,
)
from recordings.services import notifications as notification_services
from tests.support.graph import CONTEXT, OP_ID


def create_operation(
    *,
    call,
    graph_id: str = OP_ID,
    profile: str = "v1.0",
    client_context: str = CONTEXT,
    max_record_duration: int | None = 10,
    **fields,
) -> RecordOperation:
    """A record operation on `call` with the accepted request behind it, as Recorder keeps
    one once Graph has answered; `fields` set the operation's own columns."""
    request = RecordRequest.objects.create(
        call=call,
        profile=profile,
        client_context=client_context,
        status=RequestStatus.ACCEPTED,
        max_record_duration=max_record_duration,
    )
    return RecordOperation.objects.create(
        graph_id=graph_id,
        call=call,
        record_request=request,
        profile=profile,
        client_context=client_context,
        **fields,
    )


def completed(make_operation, graph_id=OP_ID, reason="stopToneDetected", **fields):
    """A completed operation, made by the `make_operation` fixture."""
    return make_operation(
        graph_id=graph_id,
        status="completed",
        completion_reason=reason,
        finished_at=timezone.now(),
        **fields,
    )


def store(operation, status=FetchStatus.STORED, **fields) -> Recording:
    """The recording of `operation`, stored (a file name only) unless `status` says else."""
    return Recording.objects.create(
        operation=operation,
        status=status,
        duration_seconds=fields.pop("duration_seconds", 4.25),
        size_bytes=fields.pop("size_bytes", 136_000),
        file=fields.pop("file", "recordings/2026/11/30/op.wav" if status == "stored" else ""),
        **fields,
    )


def received(body: dict | bytes, **fields):
    """A notification stored as the webhook stores one it has verified."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return notification_services.store_notification(
        body=raw,
        headers={"HTTP_REQUEST_ID": "graph-request-7", "HTTP_CLIENT_REQUEST_ID": "client-7"},
        remote_addr="10.0.0.1",
        claims={"iss": "https://graph.microsoft.com", "aud": "app", "tid": "tenant"},
        **fields,
    )
