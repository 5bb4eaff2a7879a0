"""The JSON the emulator shows: calls, operations and notifications, in each profile's names
(tests/fixtures/graph holds the samples of Graph's own that these follow)."""

from datetime import UTC, datetime

from graph_emulator import faults
from graph_emulator.models import Call, CallState, FaultName, Operation

BETA = Operation.Profile.BETA_RECORD
V1 = Operation.Profile.V1


def timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def result_info(code: int | None, subcode: int | None, message: str) -> dict | None:
    if code is None:
        return None
    return {
        "@odata.type": "#microsoft.graph.resultInfo",
        "code": code,
        "subcode": subcode or 0,
        "message": message,
    }


def call_path(call_id: str) -> str:
    return f"/communications/calls/{call_id}"


def app_call_path(call_id: str) -> str:
    return f"/app/calls/{call_id}"


def _source(call: Call) -> dict:
    return {
        "@odata.type": "#microsoft.graph.participantInfo",
        "identity": {
            "@odata.type": "#microsoft.graph.identitySet",
            "phone": {"@odata.type": "#microsoft.graph.identity", "id": call.caller},
        },
    }


def _media_state(call: Call) -> dict:
    audio = "active" if call.state == CallState.ESTABLISHED else "inactive"
    return {"@odata.type": "#microsoft.graph.callMediaState", "audio": audio}


def call_resource(call: Call, *, client_id: str) -> dict:
    """The call as `GET .../communications/calls/{id}` answers it."""
    return {
        "@odata.type": "#microsoft.graph.call",
        "id": call.id,
        "state": call.state,
        "direction": "incoming",
        "callbackUri": call.callback_url,
        "requestedModalities": ["audio"],
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "mediaState": _media_state(call),
        "source": _source(call),
        "targets": [
            {
                "@odata.type": "#microsoft.graph.invitationParticipantInfo",
                "identity": {
                    "@odata.type": "#microsoft.graph.identitySet",
                    "application": {"@odata.type": "#microsoft.graph.identity", "id": client_id},
                },
            }
        ],
        "tenantId": call.tenant_id,
        "resultInfo": result_info(call.result_code, call.result_subcode, call.result_message),
    }


def call_notification(call: Call, change_type: str) -> dict:
    """A call state notification, like contract/v1.0/notification-call-*.json."""
    data: dict = {
        "@odata.type": "#microsoft.graph.call",
        "@odata.id": call_path(call.id),
        "@odata.etag": f'W/"{call.etag}"',
        "state": call.state,
    }
    if call.is_live:
        data["direction"] = "incoming"
        if call.state == CallState.ESTABLISHED:
            data["mediaState"] = _media_state(call)
        data["source"] = _source(call)
        if call.state == CallState.INCOMING:
            data["tenantId"] = call.tenant_id
            data["requestedModalities"] = ["audio"]
    info = result_info(call.result_code, call.result_subcode, call.result_message)
    if call.state == CallState.TERMINATED and info:
        data["resultInfo"] = info
    return {
        "@odata.type": "#microsoft.graph.commsNotification",
        "changeType": change_type,
        "resource": app_call_path(call.id),
        "resourceUrl": call_path(call.id),
        "resourceData": data,
    }


# DTMF keys as Graph's tone enum names them.
TONES = {
    **{str(d): f"tone{d}" for d in range(10)},
    "*": "star",
    "#": "pound",
    "A": "a",
    "B": "b",
    "C": "c",
    "D": "d",
}


def tone_notification(call: Call, key: str) -> dict:
    """A key the caller pressed, for a bot that subscribed to tones: the call `updated` with
    toneInfo (tests/fixtures/graph/v1.0/notification-call-tone.json)."""
    return {
        "@odata.type": "#microsoft.graph.commsNotification",
        "changeType": "updated",
        "resource": app_call_path(call.id),
        "resourceUrl": call_path(call.id),
        "resourceData": {
            "@odata.type": "#microsoft.graph.call",
            "@odata.id": call_path(call.id),
            "@odata.etag": f'W/"{call.etag}"',
            "state": call.state,
            "toneInfo": {
                "@odata.type": "#microsoft.graph.toneInfo",
                "sequenceId": call.tone_sequence,
                "tone": TONES[key.upper()],
            },
        },
    }


def _recording_fields(op: Operation) -> tuple[str | None, str | None]:
    if not op.is_finished:
        return None, None
    if op.has_recording:
        return op.recording_location, op.access_token
    # A failed or cancelled operation: empty strings, as in notification-canceled.json.
    return "", ""


def _v1_completion_reason(op: Operation) -> dict:
    """v1.0's documented recordOperation has no completionReason: resultInfo alone says how it
    ended. Graph's cancel example is the exception; `v1_completion_reason` is the kinder switch
    that names every ending."""
    if not op.is_finished:
        return {}
    if op.completion_reason == "operationCanceled" or faults.is_on(FaultName.V1_COMPLETION_REASON):
        return {"completionReason": op.completion_reason}
    return {}


PLAY_PROMPT_TYPE = "#microsoft.graph.playPromptOperation"


def _play_prompt_data(op: Operation) -> dict:
    """A playPromptOperation: status and resultInfo say how it went (no completionReason)."""
    return {
        "@odata.type": PLAY_PROMPT_TYPE,
        "id": op.id,
        "status": op.status,
        "clientContext": op.client_context or None,
        "resultInfo": result_info(op.result_code, op.result_subcode, op.result_message),
    }


def operation_resource(op: Operation, profile: str) -> dict:
    """The operation as the Graph API answers it (record POST, cancel, GET operation)."""
    if op.kind == Operation.Kind.PLAY_PROMPT:
        return _play_prompt_data(op)
    info = result_info(op.result_code, op.result_subcode, op.result_message)
    if profile == BETA:
        data = {
            "id": op.id,
            "status": op.status,
            "createdDateTime": timestamp(op.created_at),
            "lastActionDateTime": timestamp(op.last_action_at),
            "clientContext": op.client_context or None,
        }
        if op.kind == Operation.Kind.RECORD and op.is_finished:
            location, token = _recording_fields(op)
            data.update(
                completionReason=op.completion_reason,
                resultInfo=info,
                recordResourceLocation=location,
                recordResourceAccessToken=token,
            )
        return data
    if op.kind == Operation.Kind.SUBSCRIBE_TO_TONE:
        return {
            "@odata.type": "#microsoft.graph.subscribeToToneOperation",
            "id": op.id,
            "status": op.status,
            "clientContext": op.client_context or None,
            "resultInfo": info,
        }
    if op.kind == Operation.Kind.CANCEL_MEDIA_PROCESSING:
        return {
            "@odata.type": "#microsoft.graph.cancelMediaProcessingOperation",
            "id": op.id,
            "status": op.status,
            "clientContext": op.client_context or None,
            "resultInfo": info,
        }
    location, token = _recording_fields(op)
    data = {
        "@odata.type": "#microsoft.graph.recordOperation",
        "id": op.id,
        "status": op.status,
        "clientContext": op.client_context or None,
        "resultInfo": info,
        "recordingLocation": location,
        "recordingAccessToken": token,
        **_v1_completion_reason(op),
    }
    return data


def operation_notification(op: Operation) -> dict:
    """The `deleted` notification of a finished record operation, in the profile it was
    started with (contract/*/notification-completed.json)."""
    location, token = _recording_fields(op)
    info = result_info(op.result_code, op.result_subcode, op.result_message)
    app_path = f"{app_call_path(op.call_id)}/operations/{op.id}"
    if op.kind == Operation.Kind.PLAY_PROMPT:
        return _play_prompt_notification(op, app_path)
    if op.profile == BETA:
        return {
            "changeType": "deleted",
            "resource": app_path,
            "resourceData": {
                "@odata.type": "#microsoft.graph.recordOperation",
                "@odata.id": app_path,
                "@odata.etag": f'W/"{op.etag}"',
                "id": op.id,
                "clientContext": op.client_context or None,
                "status": op.status,
                "completionReason": op.completion_reason,
                "resultInfo": info,
                "recordResourceLocation": location,
                "recordResourceAccessToken": token,
            },
        }
    path = f"{call_path(op.call_id)}/operations/{op.id}"
    return {
        "@odata.type": "#microsoft.graph.commsNotification",
        "changeType": "deleted",
        "resource": app_path,
        "resourceUrl": path,
        "resourceData": {
            "@odata.type": "#microsoft.graph.recordOperation",
            "@odata.id": path,
            "@odata.etag": f'W/"{op.etag}"',
            "id": op.id,
            "clientContext": op.client_context or None,
            "status": op.status,
            **_v1_completion_reason(op),
            "resultInfo": info,
            "recordingLocation": location,
            "recordingAccessToken": token,
        },
    }


def _play_prompt_notification(op: Operation, app_path: str) -> dict:
    path = f"{call_path(op.call_id)}/operations/{op.id}"
    data = _play_prompt_data(op)
    odata_id = app_path if op.profile == BETA else path
    resource_data = {
        "@odata.type": data.pop("@odata.type"),
        "@odata.id": odata_id,
        "@odata.etag": f'W/"{op.etag}"',
        **data,
    }
    if op.profile == BETA:
        return {"changeType": "deleted", "resource": app_path, "resourceData": resource_data}
    return {
        "@odata.type": "#microsoft.graph.commsNotification",
        "changeType": "deleted",
        "resource": app_path,
        "resourceUrl": path,
        "resourceData": resource_data,
    }


def envelope(notifications: list[dict], *, profile: str = V1) -> dict:
    if profile == BETA:
        return {"value": notifications}
    return {"@odata.type": "#microsoft.graph.commsNotifications", "value": notifications}
