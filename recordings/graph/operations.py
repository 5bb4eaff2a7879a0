"""Reading Graph's record operations, calls and notifications, whichever era wrote them.

Graph's payloads changed names over the years (`recordResourceLocation` became
`recordingLocation`, `resource` gained `resourceUrl`) and are loose about case and types
(`Running`, `"8515"`). Parsing accepts all of it and hands the rest of Recorder one shape.
"""

import contextlib
import json
import logging
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

logger = logging.getLogger(__name__)

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

# Graph's bodies nest a dozen levels at most; anything deeper is refused before it is read,
# so nothing that walks a stored body (the parser, the admin's pretty-printer) runs out of
# stack on it.
MAX_NESTING = 64
# Result codes are kept in IntegerField columns: 32-bit signed on every database.
RESULT_CODE_RANGE = (-(2**31), 2**31 - 1)


class PayloadError(ValueError):
    """A payload Recorder cannot read; the message names what is wrong and where."""


# Graph's call and operation ids are GUIDs; this is looser (any letters, digits, - and _),
# but never what could leave a URL's path segment: no dot segment, slash, %, or space.
_GRAPH_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def checked_id(value: str, field: str) -> str:
    """`value` if it has the shape of a Graph id ("" stays ""); else PayloadError naming
    `field`: every id Graph hands Recorder ends up in a URL Recorder sends."""
    if value == "" or _GRAPH_ID.fullmatch(value):
        return value
    logger.warning("Refused %s %r: not the shape of a Graph id", field, value[:200])
    raise PayloadError(
        f"{field} is not a Graph id ({value[:200]!r}): only letters, digits, - and _ "
        "are accepted, at most 128 of them."
    )


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

    @property
    def names_record_operation(self) -> bool:
        """Typed by Graph as a recordOperation (not a playPrompt or subscribeToTone)."""
        return self.odata_type.lower().endswith(".recordoperation")


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
        except RecursionError as err:
            raise PayloadError(too_deep_problem()) from err
    check_storable(payload)
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
                item_where=where,
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
    *,
    item: dict,
    item_where: str,
    change_type: str,
    resource_url: str,
    data: dict | None,
    where: str,
) -> ParsedNotification:
    odata_type = _text(data, "@odata.type") if data else ""
    odata_id = _text(data, "@odata.id") if data else ""
    url_operation = _OPERATION_URL.search(resource_url) or _OPERATION_URL.search(odata_id)
    call_match = _ANY_CALL_URL.search(resource_url) or _ANY_CALL_URL.search(odata_id)
    call_id = checked_id(call_match.group(1) if call_match else "", f"{item_where}'s call id")
    operation_id = checked_id(
        url_operation.group(2) if url_operation else "", f"{item_where}'s operation id"
    )

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
    _check_lengths(data, OPERATION_TEXT_LENGTHS, where)
    return ParsedOperation(
        id=checked_id(_text(data, "id"), f"{where}.id" if where else "The operation's id"),
        status=_normalise(data.get("status"), OPERATION_STATUSES),
        completion_reason=_text(data, "completionReason"),
        result_code=code,
        result_subcode=subcode,
        result_message=message,
        # Today's names first, the beta era's as the fallback.
        recording_location=_text(data, "recordingLocation", "recordResourceLocation"),
        recording_access_token=_text(data, "recordingAccessToken", "recordResourceAccessToken"),
        client_context=_text(data, "clientContext"),
        created=_datetime(data.get("createdDateTime"), _path(where, "createdDateTime")),
        last_action=_datetime(data.get("lastActionDateTime"), _path(where, "lastActionDateTime")),
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
    kind = ""
    if isinstance(identity_set, dict):
        kind, identity = next(
            (
                (name, identity_set[name])
                for name in CALLER_IDENTITIES
                if isinstance(identity_set.get(name), dict) and _text(identity_set[name], "id")
            ),
            ("", {}),
        )
    _check_lengths(data, CALL_TEXT_LENGTHS, where)
    _check_lengths(identity, CALLER_TEXT_LENGTHS, _path(where, f"source.identity.{kind}"))
    return ParsedCall(
        id=checked_id(_text(data, "id"), f"{where}.id" if where else "The call's id"),
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
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = int(value.strip())
    if number is None:
        raise PayloadError(f"{path} is not a number: {value!r}.")
    low, high = RESULT_CODE_RANGE
    if not low <= number <= high:
        raise PayloadError(f"{path}: {number} is out of range.")
    return number


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


def _datetime(value: Any, path: str) -> datetime | None:
    # A timestamp Recorder cannot read is not worth refusing a notification over.
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    # One that reads but lies outside the years a datetime holds once taken to UTC (Dec 31
    # 9999 at -23:59) would fail where it is stored, so it is refused here, by name.
    try:
        parsed.astimezone(UTC)
    except OverflowError as err:
        raise PayloadError(f"{path}: {value!r} is out of range once taken to UTC.") from err
    return parsed


# The longest text Recorder keeps of each field Graph names, by the object it is read from:
# the size of the column that keeps it (recordings.models). Ids are not here: their shape is
# checked where they are read.
OPERATION_TEXT_LENGTHS = {
    "completionReason": 64,
    "recordingLocation": 2048,
    "recordResourceLocation": 2048,
}
CALL_TEXT_LENGTHS = {"tenantId": 64}
CALLER_TEXT_LENGTHS = {"id": 256, "displayName": 256, "tenantId": 64}


def _check_lengths(data: dict, limits: dict[str, int], where: str) -> None:
    """Refuse, by path, text longer than the column that keeps it: PostgreSQL would refuse
    it at the save, SQLite would keep it whole."""
    for name, limit in limits.items():
        if len(_text(data, name)) > limit:
            raise PayloadError(
                f"{_path(where, name)} is longer than the {limit} characters Recorder keeps."
            )


def _path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


# --- What no column can hold ------------------------------------------------------------


def too_deep_problem() -> str:
    return f"The body nests deeper than the {MAX_NESTING} levels Recorder reads."


def check_storable(payload: Any) -> None:
    """Refuse, by path, what the database could not keep once parsed: nesting deeper than
    MAX_NESTING, and text holding a NUL (PostgreSQL refuses it) or an unpaired surrogate
    (no UTF-8 encodes it). Iterative, so depth itself can't exhaust the stack here; each
    value's place is kept as a link to its parent's, and spelled out only for an error."""
    stack: list[tuple[Any, tuple | None, int]] = [(payload, None, 0)]
    while stack:
        value, place, depth = stack.pop()
        if isinstance(value, str):
            if not _storable_text(value):
                where = _place_path(place) or "The body"
                raise PayloadError(f"{where} holds text Recorder cannot store.")
            continue
        if isinstance(value, dict):
            children = ((str(key), item) for key, item in value.items())
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if depth >= MAX_NESTING:
            raise PayloadError(too_deep_problem())
        for key, item in children:
            if isinstance(key, str) and not _storable_text(key):
                where = _place_path(place) or "The body"
                raise PayloadError(f"{where} has a field name Recorder cannot store.")
            stack.append((item, (key, place), depth + 1))


def _place_path(place: tuple | None) -> str:
    """The path of a place kept as (key, parent's place) links."""
    keys = []
    while place is not None:
        key, place = place
        keys.append(key)
    path = ""
    for key in reversed(keys):
        path = _step(path, key)
    return path


def _storable_text(text: str) -> bool:
    """Whether every database Recorder runs on can keep this text."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _step(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    # A path names the field in errors and answers: a long name is cut, not echoed whole.
    name = key if len(key) <= 64 else f"{key[:64]}..."
    return f"{path}.{name}" if path else name
