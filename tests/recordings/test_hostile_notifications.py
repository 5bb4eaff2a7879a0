"""Signed bodies that once made the webhook answer 500: each is refused with a 400 naming
the field, and its raw row stays readable on every admin page."""

import json

import pytest

from recordings.graph import operations
from recordings.models import Call, Notification, RecordOperation
from recordings.services import notifications as notification_services
from recordings.services import operations as operation_services
from tests.support.admin_pages import OPERATION_PERMISSIONS, assert_pages_show
from tests.support.graph import graph_fixture
from tests.support.operators import operator

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_keys")]


def completed_with(**fields) -> bytes:
    payload = graph_fixture("v1.0/notification-completed")
    data = payload["value"][0]["resourceData"]
    data.update(fields.pop("resourceData", {}))
    data["resultInfo"].update(fields)
    return json.dumps(payload).encode()


def established_by(display_name_json: str) -> bytes:
    """A call notification whose caller's displayName is this JSON string literal, escapes
    and all (json.dumps would refuse to write some of them)."""
    payload = graph_fixture("v1.0/notification-call-established")
    phone = payload["value"][0]["resourceData"]["source"]["identity"]["phone"]
    phone["displayName"] = "@NAME@"
    return json.dumps(payload).replace('"@NAME@"', display_name_json).encode()


def nested(depth: int) -> bytes:
    return b'{"value": ' + b"[" * depth + b"]" * depth + b"}"


def refused(response, *, naming: str) -> Notification:
    """The 400 names the field, and the raw row is kept with the same sentence."""
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "bad_notification"
    assert naming in response.json()["detail"]
    row = Notification.objects.get()
    assert naming in row.error
    return row


def test_a_result_code_too_large_for_its_column_is_refused_naming_it(post_raw, make_operation):
    operation = make_operation()
    response = post_raw(completed_with(code=2**70))
    row = refused(response, naming="value[0].resourceData.resultInfo.code")
    assert response.json()["detail"] == (
        "value[0].resourceData.resultInfo.code: 1180591620717411303424 is out of range."
    )
    operation.refresh_from_db()
    assert operation.status == "running"
    assert_pages_show(operator(*OPERATION_PERMISSIONS), [row], operation)


def test_a_timestamp_that_overflows_when_taken_to_utc_is_refused_naming_it(
    post_raw, make_operation
):
    operation = make_operation()
    response = post_raw(
        completed_with(resourceData={"lastActionDateTime": "9999-12-31T23:59:59-23:59"})
    )
    row = refused(response, naming="value[0].resourceData.lastActionDateTime")
    assert_pages_show(operator(*OPERATION_PERMISSIONS), [row], operation)


def test_arrays_nested_ten_thousand_deep_are_refused_and_the_log_still_shows(post_raw):
    body = nested(10_000)
    response = post_raw(body)
    row = refused(response, naming="nests deeper")
    assert bytes(row.body) == body
    assert_pages_show(operator("view_notification"), [row])


def test_a_caller_name_holding_a_lone_surrogate_is_refused_naming_it(post_raw, call):
    response = post_raw(established_by('"\\ud800x"'))
    row = refused(response, naming="value[0].resourceData.source.identity.phone.displayName")
    call.refresh_from_db()
    assert call.caller_name == ""
    assert_pages_show(operator("view_notification"), [row])


def test_a_caller_name_holding_a_nul_is_refused_naming_it(post_raw, call):
    response = post_raw(established_by('"a\\u0000b"'))
    row = refused(response, naming="value[0].resourceData.source.identity.phone.displayName")
    assert_pages_show(operator("view_notification"), [row])


def test_text_longer_than_its_column_is_refused_naming_it(post_raw, make_operation):
    operation = make_operation()
    response = post_raw(completed_with(resourceData={"completionReason": "x" * 65}))
    row = refused(response, naming="value[0].resourceData.completionReason")
    operation.refresh_from_db()
    assert operation.completion_reason == ""
    assert_pages_show(operator(*OPERATION_PERMISSIONS), [row], operation)


@pytest.mark.parametrize(
    ("model", "limits", "fields"),
    [
        (
            RecordOperation,
            operations.OPERATION_TEXT_LENGTHS,
            {
                "completionReason": "completion_reason",
                "recordingLocation": "recording_location",
                "recordResourceLocation": "recording_location",
            },
        ),
        (Call, operations.CALL_TEXT_LENGTHS, {"tenantId": "tenant_id"}),
        (
            Call,
            operations.CALLER_TEXT_LENGTHS,
            {"id": "caller_id", "displayName": "caller_name", "tenantId": "tenant_id"},
        ),
    ],
)
def test_the_parser_bounds_text_by_the_column_that_keeps_it(model, limits, fields):
    assert limits == {name: model._meta.get_field(fields[name]).max_length for name in limits}


def test_a_failure_quoting_unstorable_text_is_kept_as_escapes(make_operation, monkeypatch):
    make_operation()

    def explode(*args, **kwargs):
        raise RuntimeError("disk\x00on fire \ud800")

    monkeypatch.setattr(operation_services, "advance_operation", explode)
    with pytest.raises(RuntimeError):
        notification_services.receive_notification(
            body=completed_with(),
            headers={"HTTP_USER_AGENT": "agent\x00"},
            remote_addr=None,
            claims={"tid": "\udfff"},
        )
    row = Notification.objects.get()
    assert row.error == "RuntimeError: disk\\u0000on fire \\ud800"
    assert "disk\\u0000on fire" in row.traceback
    assert (row.headers, row.token_claims) == (
        {"HTTP_USER_AGENT": "agent\\u0000"},
        {"tid": "\\udfff"},
    )
    assert_pages_show(operator("view_notification"), [row])
