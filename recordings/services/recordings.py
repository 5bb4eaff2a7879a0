"""Starting and cancelling a recording.

Remote work (Graph) never runs inside a database transaction: a request is saved first, sent
outside any transaction, and its outcome saved after.
"""

import json
import uuid
from dataclasses import replace

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from recordings import graph_setup
from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import (
    GraphClient,
    GraphError,
    RecordSpec,
    build_record_body,
    validate_record_spec,
)
from recordings.models import (
    Call,
    GraphExchange,
    OperationStatus,
    Prompt,
    RecordOperation,
    RecordRequest,
    RequestStatus,
)
from recordings.services import errors as service_errors
from recordings.services import notifications as notification_services
from recordings.services import operations as operation_services


def start_recording(
    *,
    call: Call,
    spec: RecordSpec,
    by: AbstractBaseUser | None = None,
    client: GraphClient | None = None,
) -> RecordOperation:
    # The profile is the deployment's (GRAPH_API_PROFILE, with its base URL), never the
    # request's: the two must match for Graph to understand the body.
    client = client or graph_setup.graph_client()
    profile = client.profile.name
    if not call.is_live:
        raise service_errors.RecordingRefused(
            {
                "call": [
                    f"The call has {call.get_state_display()}; only a live call can be recorded."
                ]
            }
        )
    busy = call.operations.exclude(status__in=RecordOperation.FINAL_STATUSES).first()
    if busy is not None:
        # Graph runs one media operation on a call at a time; a second would fail there.
        raise service_errors.RecordingRefused(
            {
                "call": [
                    f"Operation {busy.graph_id} is still {busy.get_status_display().lower()} "
                    "on this call; wait for it to end, or cancel it, before recording again."
                ]
            }
        )
    if not spec.client_context:
        spec = replace(spec, client_context=str(uuid.uuid4()))
    errors = validate_record_spec(spec, profile)
    if errors:
        raise service_errors.RecordingRefused(errors)

    body = build_record_body(spec, profile)
    with transaction.atomic():
        record_request = RecordRequest.objects.create(
            call=call,
            profile=profile,
            requested_by=by if by is not None and by.is_authenticated else None,
            barge_in_allowed=spec.barge_in_allowed,
            play_beep=spec.play_beep,
            initial_silence_timeout=spec.initial_silence_timeout,
            max_silence_timeout=spec.max_silence_timeout,
            max_record_duration=spec.max_record_duration,
            stop_tones=list(spec.stop_tones),
            client_context=spec.client_context,
            stream_while_recording=spec.stream_while_recording,
            recording_format=spec.recording_format,
            body_sent=body,
        )
        Prompt.objects.bulk_create(
            Prompt(
                request=record_request,
                position=position,
                kind=prompt.kind,
                uri=prompt.uri,
                resource_id=prompt.resource_id,
                loop=prompt.loop,
                duration_ms=prompt.duration_ms,
            )
            for position, prompt in enumerate(spec.prompts)
        )

    log = DatabaseExchangeLog(call=call, record_request=record_request)
    try:
        # Graph gets exactly the body the request keeps as sent.
        result = client.record(call.graph_id, body, log=log)
    except GraphError as err:
        RecordRequest.objects.filter(pk=record_request.pk).update(
            status=RequestStatus.REFUSED if err.status else RequestStatus.ERROR,
            response_status=err.status,
            error_code=err.code or "",
            error_message=str(err),
            graph_request_id=err.request_id or "",
            client_request_id=_uuid_or_none(err.client_request_id)
            or record_request.client_request_id,
        )
        record_request.refresh_from_db()
        raise service_errors.GraphActionFailed(
            err.operator_message, error=err, record_request=record_request
        ) from err

    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        operation = RecordOperation(
            graph_id=result.operation.id,
            call=call,
            record_request=record_request,
            profile=profile,
            client_context=result.operation.client_context or spec.client_context,
            status=OperationStatus.RUNNING,
            graph_created_at=result.operation.created,
            **operation_services.outcome_fields(result.operation),
        )
        operation.save()
        RecordRequest.objects.filter(pk=record_request.pk).update(
            status=RequestStatus.ACCEPTED,
            response_status=200,
            response_body=json.dumps(result.body) if result.body is not None else "",
            graph_request_id=result.request_id or "",
            client_request_id=_uuid_or_none(result.client_request_id)
            or record_request.client_request_id,
        )
        GraphExchange.objects.filter(record_request=record_request).update(operation=operation)
        # A fast recording may finish, and Graph say so, before its own answer got here.
        notification_services.apply_waiting_notifications(operation)
    operation.refresh_from_db()
    return operation


def cancel_recording(
    *,
    operation: RecordOperation,
    by: AbstractBaseUser | None = None,
    client: GraphClient | None = None,
) -> None:
    """Ask Graph to cancel; the operation ends when Graph's failed/operationCanceled arrives."""
    if operation.is_final:
        raise service_errors.RecordingRefused({"operation": ["The recording has already ended."]})
    client = client or graph_setup.graph_client()
    log = DatabaseExchangeLog(call=operation.call, operation=operation)
    try:
        client.cancel_media_processing(operation.call.graph_id, operation.client_context, log=log)
    except GraphError as err:
        raise service_errors.GraphActionFailed(err.operator_message, error=err) from err
    if by is not None:
        # Graph's failed/operationCanceled says only that it was cancelled, not by whom.
        RecordOperation.objects.filter(pk=operation.pk).update(cancelled_by=by.get_username())
        operation.cancelled_by = by.get_username()


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None
