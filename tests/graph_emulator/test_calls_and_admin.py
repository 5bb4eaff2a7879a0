"""Placing calls: the emulator_call command, the control endpoint, and the admin page."""

import io

import pytest
from django.core.management import CommandError, call_command

from graph_emulator.models import Call, Delivery
from tests.support.emulator import states


def test_emulator_call_rings_the_bot_and_prints_the_id_last(emulator, receiver):
    out = io.StringIO()
    call_command(
        "emulator_call",
        "--script",
        "silence 1; speak 2.5; press #; hangup",
        "--caller",
        "+15550199",
        "--callback",
        receiver.url,
        stdout=out,
    )
    call_id = out.getvalue().strip().splitlines()[-1]
    call = Call.objects.get(pk=call_id)
    assert (call.state, call.caller, call.script) == (
        "incoming",
        "+15550199",
        "silence 1; speak 2.5; press #; hangup",
    )
    # Posted before the command returned.
    [created] = receiver.notifications()
    assert created["changeType"] == "created"
    assert created["resourceData"]["source"]["identity"]["phone"]["id"] == "+15550199"
    assert Delivery.objects.get(call=call).http_status == 202


def test_emulator_call_uses_the_configured_callback_by_default(emulator, receiver):
    out = io.StringIO()
    call_command("emulator_call", stdout=out)
    assert states(receiver.notifications()) == ["incoming"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--script", "sing"], "Unknown step"),
        (["--callback", "https://example.com/cb"], "not a loopback address"),
    ],
)
def test_emulator_call_refuses_bad_input(emulator, args, says):
    with pytest.raises(CommandError, match=says):
        call_command("emulator_call", *args, stdout=io.StringIO())


def test_the_control_endpoint_places_a_call(client, emulator, receiver):
    response = client.post(
        "/emulator/control/calls",
        {"script": "speak 1", "caller": "+15550123", "callback": receiver.url},
        content_type="application/json",
    )
    assert response.status_code == 201
    call_id = response.json()["id"]
    [created] = receiver.wait_for(lambda ns: ns)
    assert created["resourceUrl"] == f"/communications/calls/{call_id}"
    listed = client.get("/emulator/control/calls").json()["value"]
    assert listed[0]["id"] == call_id
    deliveries = client.get(f"/emulator/control/deliveries?call={call_id}").json()["value"]
    assert deliveries[0]["summary"] == "call created (incoming)"
    bad = client.post(
        "/emulator/control/calls", {"script": "speak"}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert "needs a number" in bad.json()["error"]["message"]


def test_an_unanswered_call_ends_after_the_ring_time(client, emulator, receiver):
    client.post("/emulator/control/calls", {"script": "speak 1"}, content_type="application/json")
    receiver.wait_for(lambda ns: "terminated" in states(ns))
    terminated = receiver.notifications()[-1]["resourceData"]
    assert terminated["resultInfo"]["code"] == 408
    assert Call.objects.get().ended_by == "ring-timeout"


def test_the_admin_places_a_test_call(admin_client, emulator, receiver):
    changelist = admin_client.get("/admin/graph_emulator/call/")
    assert changelist.status_code == 200
    assert b"Place a test call" in changelist.content
    page = admin_client.get("/admin/graph_emulator/call/place-call/")
    assert page.status_code == 200
    assert b"Place the call" in page.content

    refused = admin_client.post(
        "/admin/graph_emulator/call/place-call/", {"caller": "+1555", "script": "dance"}
    )
    assert refused.status_code == 200
    assert b"Unknown step" in refused.content

    response = admin_client.post(
        "/admin/graph_emulator/call/place-call/",
        {"caller": "+15550142", "script": "speak 2; press #", "callback": receiver.url},
    )
    call = Call.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/graph_emulator/call/{call.pk}/change/"
    receiver.wait_for(lambda ns: ns)
    detail = admin_client.get(response["Location"])
    assert detail.status_code == 200


def test_the_admin_page_needs_the_add_permission(client, emulator, django_user_model):
    user = django_user_model.objects.create(username="viewer", is_staff=True)
    client.force_login(user)
    assert client.get("/admin/graph_emulator/call/place-call/").status_code == 403


def test_the_admin_lists_the_emulators_state(admin_client, emulator):
    for model in ("operation", "delivery", "fault", "signingkey"):
        assert admin_client.get(f"/admin/graph_emulator/{model}/").status_code == 200
