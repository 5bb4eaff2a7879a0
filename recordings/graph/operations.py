"""Reading Graph's record operations, calls and notifications, whichever era wrote them.

Graph's payloads changed names over the years (`recordResourceLocation` became
`recordingLocation`, `resource` gained `resourceUrl`) and are loose about case and types
(`Running`, `"8515"`). Parsing accepts all of it and hands the rest of Recorder one shape.
"""

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from recordings.graph.vocabulary import (
    CALL_DIRECTIONS,
    CALL_STATES,
    CHANGE_TYPES,
    OPERATION_STATUSES,
)

# Where a caller's id can be, most telling first.
CALLER_IDENTITIES = ("phone", "user", "application")

# The operations Recorder follows, by the end of their @odata.type.
MEDIA_OPERATION_TYPES = (
    ".recordoperation",
    ".playpromptoperation",
    ".subscribetotoneoperation",
)

_OPERATION_URL = re.compile(r"/calls/([^/?#]+)/operations/([^/?#]+)/?$")
_CALL_URL = re.compile(r"/calls/([^/?#]+)/?$")
_ANY_CALL_URL = re.compile(r"/calls/([^/?#]+)")


class PayloadError(ValueError):
    """A payload Recorder cannot read; the message names what is wrong and where."""


@dataclass(frozen=True)
class ParsedOperation:
    id: str = ""
    # One of OPERATION_STATUSES, or what Graph sent if it is none of them ("" if absent).
    status: str = ""
    # As Graph sent it, case and all: unknown reasons are kept, not refused.
    completion_reason: str = ""
    result_code: int | None = None
    result_subcode: int | None = None
    result_message: str = ""
    recording_location: str = ""
    recording_access_token: str = ""
    client_context: str = ""
    created: datetime | None = None
    last_action: datetime | None = None


@dataclass(frozen=True)
class ParsedCall:
    id: str = ""
    # One of CALL_STATES, or what Graph sent if it is none of them ("" if absent).
    state: str = ""
    direction: str = ""
    caller_id: str = ""
    caller_name: str = ""
    tenant_id: str = ""
    result_code: int | None = None
    result_subcode: int | None = None
    result_message: str = ""
    # A key the caller pressed (toneInfo, on an updated call after subscribeToTone).
    tone: str = ""
    tone_sequence_id: int | None = None


@dataclass(frozen=True)
class ParsedNotification:
    change_type: str
    resource_url: str
    odata_type: str
    call_id: str
    operation_id: str
    operation: ParsedOperation | None
    call: ParsedCall | None
    raw: dict


def parse_operation(data: Any) -> ParsedOperation:
    """A recordOperation from a record answer, a GET, or a notification's resourceData."""
    return _parse_operation(data, "")


def parse_call(data: Any) -> ParsedCall:
    return _parse_call(data, "")


def parse_notifications(payload: Any) -> list[ParsedNotification]:
    """Every notification in a webhook body (`{"value": [...]}`, as JSON text or parsed).

    A notification whose resourceData is a list gives one ParsedNotification per entry.
    """
    if isinstance(payload, bytes | str):
        try:
            payload = json.loads(payload)
        except ValueError as err:
            raise PayloadError(f"The body is not valid JSON: {err}.") from err
    if not isinstance(payload, dict):
        raise PayloadError('The body is not a JSON object ({"value": [...]}).')
    if "value" not in payload:
        raise PayloadError('The body has no "value" list of notifications.')
    items = payload["value"]
    if not isinstance(items, list):
        raise PayloadError("value is not a list of notifications.")

    parsed: list[ParsedNotification] = []
    for index, item in enumerate(items):
        where = f"value[{index}]"
        if not isinstance(item, dict):
            raise PayloadError(f"{where} is not an object.")
        change_type = item.get("changeType")
        if not isinstance(change_type, str) or not change_type:
            raise PayloadError(f"{where} has no changeType.")
        resource_url = _text(item, "resourceUrl", "resource")
        if not resource_url:
            raise PayloadError(f"{where} has no resource or resourceUrl.")
        parsed.extend(
            _parse_entry(
                item=item,
                change_type=_normalise(change_type, CHANGE_TYPES),
                resource_url=resource_url,
                data=data,
                where=data_where,
            )
            for data, data_where in _resource_data(item, where)
        )
    return parsed


def _resource_data(item: dict, where: str) -> list[tuple[dict | None, str]]:
    """resourceData as (object, path) pairs; one (None, "") when there is none."""
    data = item.get("resourceData")
    if data is None:
        return [(None, "")]
    if isinstance(data, dict):
        return [(data, f"{where}.resourceData")]
    if not isinstance(data, list):
        raise PayloadError(f"{where}.resourceData is neither an object nor a list.")
    entries = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise PayloadError(f"{where}.resourceData[{index}] is not an object.")
        entries.append((entry, f"{where}.resourceData[{index}]"))
    return entries or [(None, "")]


def _parse_entry(
    *, item: dict, change_type: str, resource_url: str, data: dict | None, where: str
) -> ParsedNotification:
    odata_type = _text(data, "@odata.type") if data else ""
    odata_id = _text(data, "@odata.id") if data else ""
    url_operation = _OPERATION_URL.search(resource_url) or _OPERATION_URL.search(odata_id)
    call_match = _ANY_CALL_URL.search(resource_url) or _ANY_CALL_URL.search(odata_id)
    call_id = call_match.group(1) if call_match else ""
    operation_id = url_operation.group(2) if url_operation else ""

    kind = _kind(odata_type, resource_url, odata_id)
    operation = call = None
    if data is not None and kind == "operation":
        operation = _parse_operation(data, where)
        operation_id = operation.id or operation_id
        if not operation.id:
            operation = replace(operation, id=operation_id)
    elif data is not None and kind == "call":
        call = _parse_call(data, where)
        if not call.id:
            call = replace(call, id=call_id)
    return ParsedNotification(
        change_type=change_type,
        resource_url=resource_url,
        odata_type=odata_type,
        call_id=call_id,
        operation_id=operation_id,
        operation=operation,
        call=call,
        raw=item,
    )


def _kind(odata_type: str, *urls: str) -> str:
    """What a resource is: "operation" (record, playPrompt, subscribeToTone), "call", or ""
    (participants...)."""
    odata_type = odata_type.lower()
    if odata_type:
        if odata_type.endswith(MEDIA_OPERATION_TYPES):
            return "operation"
        if odata_type.endswith(".call"):
            return "call"
        return ""
    # No type: the URL's shape says what the resource is.
    for url in urls:
        if _OPERATION_URL.search(url):
            return "operation"
        if _CALL_URL.search(url):
            return "call"
    return ""


def _parse_operation(data: Any, where: str) -> ParsedOperation:
    if not isinstance(data, dict):
        raise PayloadError(f"{where or 'The operation'} is not an object.")
    code, subcode, message = _result_info(data, where)
    return ParsedOperation(
        id=_text(data, "id"),
        status=_normalise(data.get("status"), OPERATION_STATUSES),
        completion_reason=_text(data, "completionReason"),
        result_code=code,
        result_subcode=subcode,
        result_message=message,
        # Today's names first, the beta era's as the fallback.
        recording_location=_text(data, "recordingLocation", "recordResourceLocation"),
        recording_access_token=_text(data, "recordingAccessToken", "recordResourceAccessToken"),
        client_context=_text(data, "clientContext"),
        created=_datetime(data.get("createdDateTime")),
        last_action=_datetime(data.get("lastActionDateTime")),
    )


def _parse_call(data: Any, where: str) -> ParsedCall:
    if not isinstance(data, dict):
        raise PayloadError(f"{where or 'The call'} is not an object.")
    code, subcode, message = _result_info(data, where)
    tone_info = data.get("toneInfo")
    tone, sequence_id = "", None
    if isinstance(tone_info, dict):
        tone = _text(tone_info, "tone")
        sequence_id = _number(tone_info.get("sequenceId"), f"{where or 'call'}.toneInfo.sequenceId")
    source = data.get("source")
    identity_set = source.get("identity") if isinstance(source, dict) else None
    identity: dict = {}
    if isinstance(identity_set, dict):
        identity = next(
            (
                identity_set[kind]
                for kind in CALLER_IDENTITIES
                if isinstance(identity_set.get(kind), dict) and _text(identity_set[kind], "id")
            ),
            {},
        )
    return ParsedCall(
        id=_text(data, "id"),
        state=_normalise(data.get("state"), CALL_STATES),
        direction=_normalise(data.get("direction"), CALL_DIRECTIONS),
        caller_id=_text(identity, "id"),
        caller_name=_text(identity, "displayName"),
        tenant_id=_text(data, "tenantId") or _text(identity, "tenantId"),
        result_code=code,
        result_subcode=subcode,
        result_message=message,
        tone=tone,
        tone_sequence_id=sequence_id,
    )


def _result_info(data: dict, where: str) -> tuple[int | None, int | None, str]:
    path = f"{where}.resultInfo" if where else "resultInfo"
    info = data.get("resultInfo")
    if info is None:
        return None, None, ""
    if not isinstance(info, dict):
        raise PayloadError(f"{path} is not an object.")
    return (
        _number(info.get("code"), f"{path}.code"),
        _number(info.get("subcode"), f"{path}.subcode"),
        _text(info, "message"),
    )


def _number(value: Any, path: str) -> int | None:
    """Graph's result codes: numbers, or numbers in strings."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise PayloadError(f"{path} is not a number: {value!r}.")


def _text(data: dict, *names: str) -> str:
    """The first of the named fields that has a value, as text; "" if none has."""
    for name in names:
        value = data.get(name)
        if value is not None and value != "":
            return value if isinstance(value, str) else str(value)
    return ""


def _normalise(value: Any, known: tuple[str, ...]) -> str:
    """Graph's spelling of a known enum value, whatever the case it came in; else as it came."""
    if value is None:
        return ""
    text = str(value)
    return next((name for name in known if name.lower() == text.lower()), text)


def _datetime(value: Any) -> datetime | None:
    # A timestamp Recorder cannot read is not worth refusing a notification over.
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
