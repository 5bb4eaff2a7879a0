"""The record command: prompts from the command line, the operation id, waiting."""

import json
from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command

from recordings.graph import PromptSpec
from recordings.management.commands.record import parse_prompt
from tests.support.graph import OP_ID, graph_fixture, operation_url, record_url, running

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("beta_profile")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("silence:1500", PromptSpec(kind="silence", duration_ms=1500)),
        (
            "media:https://cdn.example/p.wav",
            PromptSpec(kind="media", uri="https://cdn.example/p.wav"),
        ),
        (
            "media:http://127.0.0.1:8000/p.wav:3",
            PromptSpec(kind="media", uri="http://127.0.0.1:8000/p.wav", loop=3),
        ),
        (
            "media:http://127.0.0.1:8000/p.wav",
            PromptSpec(kind="media", uri="http://127.0.0.1:8000/p.wav"),
        ),
    ],
)
def test_the_record_command_reads_prompts(value, expected):
    assert parse_prompt(value) == expected


@pytest.mark.parametrize("value", ["silence:soon", "video:x", "media:"])
def test_the_record_command_explains_a_bad_prompt(value):
    with pytest.raises(CommandError, match="--prompt"):
        parse_prompt(value)


def test_the_record_command_prints_the_operation_id(graph_http, settings, call):
    settings.GRAPH_API_PROFILE = "beta-record"
    graph_http.add(responses.POST, record_url(settings, call, "beta-record"), json=running())
    out = StringIO()
    call_command(
        "record",
        call.graph_id,
        "--prompt",
        "silence:300",
        "--stop-tone",
        "#",
        "--max-duration",
        "10",
        "--no-beep",
        stdout=out,
    )
    assert out.getvalue().strip().splitlines()[-1] == OP_ID
    sent = json.loads(graph_http.calls[-1].request.body)
    assert sent["playBeep"] is False
    assert sent["stopTones"] == ["#"]
    assert "bargeInAllowed" not in sent


def test_the_record_command_waits_and_prints_the_final_status_last(
    graph_http, settings, call, monkeypatch
):
    graph_http.add(responses.POST, record_url(settings, call, "beta-record"), json=running())
    data = graph_fixture("v1.0/notification-completed")["value"][0]["resourceData"]
    graph_http.add(responses.GET, operation_url(settings, call), json=data)
    out = StringIO()
    call_command("record", call.graph_id, "--wait", "--timeout", "0.3", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "completed maxRecordDurationReached"


def test_the_record_command_says_the_reason_in_words_and_never_none(graph_http, settings, call):
    graph_http.add(responses.POST, record_url(settings, call, "beta-record"), json=running())
    data = {"id": OP_ID, "status": "completed", "completionReason": "none"}
    graph_http.add(responses.GET, operation_url(settings, call), json=data)
    out = StringIO()
    call_command("record", call.graph_id, "--wait", "--timeout", "0.3", stdout=out)
    assert out.getvalue().strip().splitlines()[-2:] == [
        "Ended without a reason from Graph",
        "completed none",
    ]


def test_the_record_command_refuses_an_unknown_call(db):
    with pytest.raises(CommandError, match="knows no call"):
        call_command("record", "nope")


def test_the_record_command_explains_a_refusal(graph_http, call):
    with pytest.raises(CommandError, match="not sent"):
        call_command("record", call.graph_id, "--stop-tone", "X")


def test_the_record_command_refuses_what_the_profile_table_refuses_and_sends_nothing(
    graph_http, call
):
    with pytest.raises(CommandError, match="300,000 milliseconds"):
        call_command("record", call.graph_id, "--prompt", "silence:400000")
    with pytest.raises(CommandError, match="from 1 to 100 times"):
        call_command("record", call.graph_id, "--prompt", "media:https://cdn.example/p.wav:500")
    assert not [
        c for c in graph_http.calls if c.request.method == "POST" and "/calls/" in c.request.url
    ]
