import json
from datetime import UTC, datetime

import pytest

from recordings.graph import (
    ParsedOperation,
    PayloadError,
    parse_call,
    parse_notifications,
    parse_operation,
)
from recordings.graph.operations import check_storable
from tests.support.graph import graph_fixture, notification_samples

CALL = "421f1100-f4ff-4d0b-a10e-a4d5b1d2be55"
OPERATION = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"
OPERATION_URL = f"/communications/calls/{CALL}/operations/{OPERATION}"


def notify(resource_data=None, **fields):
    """A one-notification body; fields override the notification's own keys."""
    item = {"changeType": "deleted", "resourceUrl": OPERATION_URL}
    if resource_data is not None:
        item["resourceData"] = resource_data
    item.update(fields)
    return {"value": [item]}


def operation_in(resource_data, **fields):
    (parsed,) = parse_notifications(notify(resource_data, **fields))
    return parsed.operation


# --- Record answers -------------------------------------------------------------------------


def test_it_parses_the_beta_record_answer():
    operation = parse_operation(graph_fixture("beta-record/record-response.json"))
    assert operation == ParsedOperation(
        id="17e3b46c-f61d-4f4d-9635-c626ef18e6ad",
        status="running",
        client_context="d45324c1-fcb5-430a-902c-f20af696537c",
        created=datetime(2018, 9, 6, 15, 58, 41, tzinfo=UTC),
        last_action=datetime(2018, 9, 6, 15, 58, 41, tzinfo=UTC),
    )


def test_it_parses_the_v1_record_answer_with_its_nulls():
    operation = parse_operation(graph_fixture("v1.0/recordResponse-response.json"))
    assert operation == ParsedOperation(
        id=OPERATION, status="running", client_context="d45324c1-fcb5-430a-902c-f20af696537c"
    )


def test_it_reads_graphs_seven_digit_fractions_and_ignores_an_unreadable_date():
    operation = parse_operation(
        {"createdDateTime": "2026-11-30T08:00:00.1234567Z", "lastActionDateTime": "yesterday"}
    )
    assert operation.created == datetime(2026, 11, 30, 8, 0, 0, 123456, tzinfo=UTC)
    assert operation.last_action is None


def test_a_naive_date_is_taken_as_utc():
    operation = parse_operation({"createdDateTime": "2026-11-30T08:00:00"})
    assert operation.created == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_an_operation_that_is_not_an_object_is_a_payload_error():
    with pytest.raises(PayloadError, match="The operation is not an object"):
        parse_operation(["running"])


# --- The contract's notifications -----------------------------------------------------------


@pytest.mark.parametrize("name", notification_samples())
def test_it_reads_every_notification_in_the_contract(name):
    notifications = parse_notifications(graph_fixture(name))
    assert len(notifications) == 1
    (notification,) = notifications
    assert notification.change_type in ("created", "updated", "deleted")
    assert notification.call_id
    assert (notification.operation is None) != (notification.call is None)


def test_it_reads_the_beta_completion_from_the_old_names_and_the_url():
    (notification,) = parse_notifications(graph_fixture("beta-record/notification-completed.json"))

    assert notification.change_type == "deleted"
    assert notification.resource_url == (
        "/app/calls/57DAB8B1894C409AB240BD8BEAE78896/operations/0FE0623FD62842EDB4BD8AC290072CC5"
    )
    assert notification.odata_type == "#microsoft.graph.recordOperation"
    assert notification.call_id == "57DAB8B1894C409AB240BD8BEAE78896"
    assert notification.operation_id == "0FE0623FD62842EDB4BD8AC290072CC5"
    assert notification.call is None
    assert notification.operation == ParsedOperation(
        id="0FE0623FD62842EDB4BD8AC290072CC5",
        status="completed",
        completion_reason="stopToneDetected",
        recording_location="https://file.location/17e3b46c-f61d-4f4d-9635-c626ef18e6ad",
        client_context="d45324c1-fcb5-430a-902c-f20af696537c",
    )


def test_it_reads_the_v1_completion():
    (notification,) = parse_notifications(graph_fixture("v1.0/notification-completed.json"))
    operation = notification.operation
    assert notification.resource_url == OPERATION_URL
    assert (notification.call_id, notification.operation_id) == (CALL, OPERATION)
    assert operation.id == OPERATION
    assert operation.status == "completed"
    assert operation.completion_reason == "maxRecordDurationReached"
    assert (operation.result_code, operation.result_subcode) == (200, 8515)
    assert operation.result_message == "Action completed, max record duration reached."
    assert operation.recording_location == (
        "https://file.location/17e3b46c-f61d-4f4d-9635-c626ef18e6ad"
    )
    assert operation.recording_access_token == "<access-token>"


def test_it_reads_the_v1_cancellation():
    (notification,) = parse_notifications(graph_fixture("v1.0/notification-canceled.json"))
    operation = notification.operation
    assert operation.status == "failed"
    assert operation.completion_reason == "operationCanceled"
    assert (operation.result_code, operation.result_subcode) == (400, 8508)
    assert operation.recording_location == ""
    assert operation.recording_access_token == ""


def test_it_reads_an_established_call_and_its_caller():
    raw = graph_fixture("v1.0/notification-call-established.json")
    (notification,) = parse_notifications(raw)
    call = notification.call
    # resourceUrl is preferred to the old resource.
    assert notification.resource_url == f"/communications/calls/{CALL}"
    assert notification.operation is None
    assert notification.operation_id == ""
    assert notification.raw == raw["value"][0]
    assert call.id == CALL
    assert call.state == "established"
    assert call.direction == "incoming"
    assert call.caller_id == "+12345678901"
    assert call.result_code is None


def test_it_reads_a_terminated_call_with_its_result():
    (notification,) = parse_notifications(graph_fixture("v1.0/notification-call-terminated.json"))
    call = notification.call
    assert notification.change_type == "deleted"
    assert call.state == "terminated"
    assert (call.result_code, call.result_subcode) == (200, 5001)
    assert call.result_message == "The conversation has ended."


# --- Either era's names, any case -----------------------------------------------------------


def test_it_prefers_the_new_recording_names_to_the_old():
    operation = operation_in(
        {
            "recordingLocation": "https://new.test/a",
            "recordResourceLocation": "https://old.test/a",
            "recordingAccessToken": "new-token",
            "recordResourceAccessToken": "old-token",
        }
    )
    assert operation.recording_location == "https://new.test/a"
    assert operation.recording_access_token == "new-token"


def test_it_falls_back_to_the_old_recording_names():
    operation = operation_in(
        {
            "recordingLocation": None,
            "recordResourceLocation": "https://old.test/a",
            "recordResourceAccessToken": "old-token",
        }
    )
    assert operation.recording_location == "https://old.test/a"
    assert operation.recording_access_token == "old-token"


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("Running", "running"),
        ("NotStarted", "notStarted"),
        ("notstarted", "notStarted"),
        ("COMPLETED", "completed"),
        ("Failed", "failed"),
        ("Paused", "Paused"),
    ],
)
def test_it_compares_operation_statuses_without_regard_to_case(sent, read):
    assert parse_operation({"status": sent}).status == read


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("Established", "established"),
        ("TransferAccepted", "transferAccepted"),
        ("TERMINATING", "terminating"),
        ("Hold", "hold"),
        ("Parked", "Parked"),
    ],
)
def test_it_gives_call_states_graphs_spelling(sent, read):
    assert parse_call({"state": sent}).state == read


def test_it_normalises_direction_and_change_type():
    body = notify({"@odata.type": "#microsoft.graph.call", "direction": "Incoming"})
    body["value"][0]["changeType"] = "Updated"
    body["value"][0]["resourceUrl"] = f"/communications/calls/{CALL}"
    (notification,) = parse_notifications(body)
    assert notification.change_type == "updated"
    assert notification.call.direction == "incoming"


def test_it_keeps_an_unknown_completion_reason_as_it_came():
    assert operation_in({"completionReason": "callTerminated"}).completion_reason == (
        "callTerminated"
    )
    assert operation_in({"completionReason": "SomethingNew"}).completion_reason == "SomethingNew"


@pytest.mark.parametrize(
    ("code", "subcode", "read"),
    [
        (200, 8515, (200, 8515)),
        ("200", "8515", (200, 8515)),
        (" 400 ", 8508.0, (400, 8508)),
        (None, "", (None, None)),
    ],
)
def test_it_reads_result_codes_as_numbers_or_numeric_strings(code, subcode, read):
    operation = operation_in({"resultInfo": {"code": code, "subcode": subcode, "message": "m"}})
    assert (operation.result_code, operation.result_subcode) == read


@pytest.mark.parametrize("code", ["OK", True, 1.5, [200]])
def test_a_result_code_that_is_not_a_number_is_named(code):
    with pytest.raises(PayloadError) as caught:
        parse_notifications(notify({"resultInfo": {"code": code}}))
    assert str(caught.value).startswith("value[0].resourceData.resultInfo.code is not a number")


def test_a_result_info_that_is_not_an_object_is_named():
    with pytest.raises(PayloadError, match=r"^resultInfo is not an object"):
        parse_operation({"resultInfo": "fine"})


# --- Resources, ids and types ---------------------------------------------------------------


def test_it_takes_the_old_resource_when_there_is_no_resource_url():
    body = notify({"status": "completed"}, resourceUrl=None, resource="/app/calls/C1/operations/O1")
    del body["value"][0]["resourceUrl"]
    (notification,) = parse_notifications(body)
    assert notification.resource_url == "/app/calls/C1/operations/O1"
    assert (notification.call_id, notification.operation_id) == ("C1", "O1")
    assert notification.operation.id == "O1"


def test_it_prefers_resource_url_to_resource():
    (notification,) = parse_notifications(
        notify({"status": "running"}, resource="/app/calls/OLD/operations/OLD-OP")
    )
    assert notification.resource_url == OPERATION_URL
    assert notification.call_id == CALL


def test_it_prefers_the_operation_id_in_resource_data_to_the_urls():
    operation = operation_in({"id": "op-from-data", "status": "running"})
    assert operation.id == "op-from-data"


def test_it_reads_resource_data_given_as_a_list():
    body = notify(
        [
            {"@odata.type": "#microsoft.graph.recordOperation", "id": "op-1", "status": "running"},
            {"@odata.type": "#microsoft.graph.recordOperation", "id": "op-2", "status": "failed"},
        ]
    )
    notifications = parse_notifications(body)
    assert [(n.operation_id, n.operation.status) for n in notifications] == [
        ("op-1", "running"),
        ("op-2", "failed"),
    ]
    assert {n.call_id for n in notifications} == {CALL}


def test_an_empty_resource_data_list_still_gives_the_notification():
    (notification,) = parse_notifications(notify([]))
    assert (notification.call_id, notification.operation_id) == (CALL, OPERATION)
    assert notification.operation is None
    assert notification.call is None


def test_the_odata_type_decides_over_the_urls_shape():
    (notification,) = parse_notifications(
        notify({"@odata.type": "#microsoft.graph.call", "state": "established"})
    )
    assert notification.operation is None
    assert notification.call.state == "established"


def test_without_an_odata_type_the_url_says_what_the_resource_is():
    (operation_note,) = parse_notifications(notify({"status": "running"}))
    assert operation_note.operation.status == "running"
    (call_note,) = parse_notifications(
        notify({"state": "terminated"}, resourceUrl=f"/communications/calls/{CALL}")
    )
    assert call_note.call.state == "terminated"
    assert call_note.call.id == CALL


def test_other_resources_are_neither_operations_nor_calls():
    (participant,) = parse_notifications(
        notify(
            [{"@odata.type": "#microsoft.graph.participant", "id": "p1"}],
            changeType="updated",
            resourceUrl=f"/communications/calls/{CALL}/participants",
        )
    )
    assert participant.odata_type == "#microsoft.graph.participant"
    assert participant.call_id == CALL
    assert participant.operation is None
    assert participant.call is None
    (other_operation,) = parse_notifications(
        notify(
            {"@odata.type": "#microsoft.graph.inviteParticipantsOperation", "status": "completed"}
        )
    )
    assert other_operation.operation is None


@pytest.mark.parametrize(
    "odata_type",
    ["#microsoft.graph.playPromptOperation", "#microsoft.graph.subscribeToToneOperation"],
)
def test_play_prompt_and_subscribe_to_tone_operations_are_read_as_operations(odata_type):
    (note,) = parse_notifications(
        notify({"@odata.type": odata_type, "id": "op-1", "status": "completed"})
    )
    assert (note.operation.id, note.operation.status) == ("op-1", "completed")


def test_a_pressed_key_is_read_from_an_updated_calls_tone_info():
    (note,) = parse_notifications(
        notify(
            {"state": "established", "toneInfo": {"sequenceId": 7, "tone": "star"}},
            changeType="updated",
            resourceUrl=f"/communications/calls/{CALL}",
        )
    )
    assert (note.call.tone, note.call.tone_sequence_id) == ("star", 7)


@pytest.mark.parametrize(
    ("identity", "caller"),
    [
        ({"phone": {"id": "+4930123"}}, ("+4930123", "")),
        ({"user": {"id": "u-1", "displayName": "Ada", "tenantId": "t-9"}}, ("u-1", "Ada")),
        ({"application": {"id": "app-1", "displayName": "Bot"}}, ("app-1", "Bot")),
        ({"phone": {"id": "+4930"}, "user": {"id": "u-1"}}, ("+4930", "")),
        ({"phone": {}, "user": {"id": "u-1"}}, ("u-1", "")),
        ({}, ("", "")),
    ],
)
def test_it_finds_the_caller_in_the_source_identity(identity, caller):
    call = parse_call({"source": {"identity": identity}})
    assert (call.caller_id, call.caller_name) == caller


def test_it_takes_the_tenant_from_the_call_or_else_from_the_callers_identity():
    assert parse_call({"tenantId": "t-1"}).tenant_id == "t-1"
    user = {"source": {"identity": {"user": {"id": "u", "tenantId": "t-2"}}}}
    assert parse_call(user).tenant_id == "t-2"


# --- Bodies Recorder cannot read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "The body is not a JSON object"),
        ({"values": []}, 'The body has no "value" list'),
        ({"value": {}}, "value is not a list"),
        ({"value": [{"changeType": "updated", "resourceUrl": "/x"}, "oops"]}, "value[1] is not"),
        (
            {"value": [{"changeType": "updated", "resourceUrl": "/x"}, {"resourceUrl": "/x"}]},
            "value[1] has no changeType",
        ),
        ({"value": [{"changeType": "", "resourceUrl": "/x"}]}, "value[0] has no changeType"),
        ({"value": [{"changeType": "deleted"}]}, "value[0] has no resource or resourceUrl"),
        (notify("running"), "value[0].resourceData is neither an object nor a list"),
        (notify([{}, 5]), "value[0].resourceData[1] is not an object"),
        ("{not json", "The body is not valid JSON"),
    ],
)
def test_a_body_it_cannot_read_is_a_payload_error_naming_the_problem(body, message):
    with pytest.raises(PayloadError) as caught:
        parse_notifications(body)
    assert str(caught.value).startswith(message)


def test_it_reads_a_body_given_as_json_text():
    raw = graph_fixture("v1.0/notification-completed.json")
    from_bytes = parse_notifications(json.dumps(raw).encode())
    assert from_bytes == parse_notifications(raw)


def test_an_empty_value_list_is_no_notifications():
    assert parse_notifications({"value": []}) == []


# --- Ids ------------------------------------------------------------------------------------

NOT_IDS = ["..", ".", "a/b", "a%2Fb", "%2e%2e", "a b", "a\tb", "x" * 129, "a.b", "a?b"]
# In a URL a / or ? ends the segment: what comes before it is the id then.
NOT_IDS_IN_A_URL = [bad for bad in NOT_IDS if "/" not in bad and "?" not in bad]


@pytest.mark.parametrize("bad", NOT_IDS_IN_A_URL)
def test_a_call_id_in_the_url_that_is_not_a_graph_id_is_refused_by_name(bad, caplog):
    with pytest.raises(PayloadError, match=r"value\[0\]'s call id is not a Graph id"):
        parse_notifications(notify(resourceUrl=f"/communications/calls/{bad}"))
    assert "not the shape of a Graph id" in caplog.text


@pytest.mark.parametrize("bad", NOT_IDS_IN_A_URL)
def test_an_operation_id_in_the_url_that_is_not_a_graph_id_is_refused_by_name(bad):
    url = f"/communications/calls/{CALL}/operations/{bad}"
    with pytest.raises(PayloadError, match=r"value\[0\]'s operation id is not a Graph id"):
        parse_notifications(notify(resourceUrl=url))


@pytest.mark.parametrize("bad", NOT_IDS)
def test_an_id_in_resource_data_that_is_not_a_graph_id_is_refused_by_name(bad):
    call = {"@odata.type": "#microsoft.graph.call", "id": bad, "state": "incoming"}
    with pytest.raises(PayloadError, match=r"value\[0\]\.resourceData\.id is not a Graph id"):
        parse_notifications(notify(call, resourceUrl=f"/communications/calls/{CALL}"))
    operation = {"@odata.type": "#microsoft.graph.recordOperation", "id": bad}
    with pytest.raises(PayloadError, match=r"value\[0\]\.resourceData\.id is not a Graph id"):
        parse_notifications(notify(operation))
    with pytest.raises(PayloadError, match="The operation's id is not a Graph id"):
        parse_operation({"id": bad, "status": "running"})
    with pytest.raises(PayloadError, match="The call's id is not a Graph id"):
        parse_call({"id": bad})


@pytest.mark.parametrize("good", [CALL, CALL.upper(), "fault-call", "a_b-1", "x" * 128])
def test_ids_of_letters_digits_dashes_and_underscores_are_taken(good):
    (parsed,) = parse_notifications(
        notify({"id": good}, resourceUrl=f"/communications/calls/{good}/operations/{good}")
    )
    assert (parsed.call_id, parsed.operation_id, parsed.operation.id) == (good, good, good)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"a": [{"b": "ok"}, {"c": "x\x00"}]}, "a[1].c holds text Recorder cannot store."),
        ({"a": {"\ud800": 1}}, "a has a field name Recorder cannot store."),
        ({"k" * 70: ["\udfff"]}, f"{'k' * 64}...[0] holds text Recorder cannot store."),
        ("\x00", "The body holds text Recorder cannot store."),
        ({"é": "ü", "a": ["ß", 1, None]}, None),
    ],
    ids=["nul in a list", "surrogate key", "long key cut", "the body", "non-ASCII is fine"],
)
def test_check_storable_names_where_the_unstorable_text_is(payload, message):
    if message is None:
        check_storable(payload)
        return
    with pytest.raises(PayloadError) as caught:
        check_storable(payload)
    assert str(caught.value) == message
