import pytest

from recordings.graph import (
    PROFILES,
    PromptSpec,
    RecordSpec,
    build_record_body,
    get_profile,
    validate_record_spec,
)
from tests.support.graph import BEEP, BETA_EXAMPLE, V1_EXAMPLE, graph_fixture


def test_it_builds_the_beta_record_example_body():
    expected = graph_fixture("beta-record/record-request.json")
    assert build_record_body(BETA_EXAMPLE, "beta-record") == expected


def test_it_builds_the_v1_record_response_example_body():
    expected = graph_fixture("v1.0/recordResponse-request.json")
    assert build_record_body(V1_EXAMPLE, "v1.0") == expected


def test_it_sends_only_the_fields_chosen():
    spec = RecordSpec(play_beep=False, max_record_duration=30)
    assert build_record_body(spec, "v1.0") == {
        "playBeep": False,
        "maxRecordDurationInSeconds": 30,
    }


def test_an_empty_spec_sends_an_empty_body():
    assert build_record_body(RecordSpec(), "beta-record") == {}


def test_it_leaves_out_a_media_prompts_resource_id_and_loop_when_unset():
    spec = RecordSpec(prompts=[PromptSpec(kind="media", uri=BEEP)])
    assert build_record_body(spec, "v1.0")["prompts"] == [
        {"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": BEEP}}
    ]


def test_it_refuses_to_build_a_field_the_profile_does_not_have():
    with pytest.raises(ValueError, match="does not send streamWhileRecording"):
        build_record_body(RecordSpec(stream_while_recording=False), "v1.0")


def test_the_spec_keeps_lists_as_tuples():
    spec = RecordSpec(prompts=[PromptSpec(kind="silence", duration_ms=1)], stop_tones=["#"])
    assert spec.prompts == (PromptSpec(kind="silence", duration_ms=1),)
    assert spec.stop_tones == ("#",)


def test_each_profile_has_its_own_record_path():
    assert PROFILES["beta-record"].record_path("abc") == "/app/calls/abc/record"
    assert PROFILES["v1.0"].record_path("abc") == "/communications/calls/abc/recordResponse"


def test_a_call_id_is_quoted_in_the_path():
    assert PROFILES["v1.0"].record_path("a/b c") == "/communications/calls/a%2Fb%20c/recordResponse"


def test_an_unknown_profile_is_refused_by_name():
    with pytest.raises(ValueError, match="'v2'"):
        get_profile("v2")


# --- Validation -----------------------------------------------------------------------------


def test_the_contract_examples_are_valid_apart_from_the_old_stop_tone():
    assert validate_record_spec(V1_EXAMPLE, "v1.0") == {}
    assert validate_record_spec(BETA_EXAMPLE, "beta-record") == {
        "stop_tones": ["Stop tone '11' is not one key: each must be one of 0-9, *, # or A-D."]
    }


@pytest.mark.parametrize("tone", ["0", "9", "*", "#", "A", "D"])
def test_every_single_dtmf_key_is_a_stop_tone(tone):
    assert validate_record_spec(RecordSpec(stop_tones=(tone,)), "v1.0") == {}


@pytest.mark.parametrize("tone", ["11", "", "E", "a", " ", 1])
def test_anything_but_one_dtmf_key_is_refused_as_a_stop_tone(tone):
    errors = validate_record_spec(RecordSpec(stop_tones=(tone,)), "v1.0")
    assert list(errors) == ["stop_tones"]


@pytest.mark.parametrize(
    ("profile", "field", "lowest", "highest"),
    [
        ("beta-record", "max_record_duration", 1, 1800),
        ("beta-record", "initial_silence_timeout", 1, 300),
        ("beta-record", "max_silence_timeout", 1, 300),
        ("v1.0", "max_record_duration", 1, 120),
        ("v1.0", "initial_silence_timeout", 1, 120),
        ("v1.0", "max_silence_timeout", 1, 120),
    ],
)
def test_timeouts_are_held_to_the_profiles_range(profile, field, lowest, highest):
    def errors_for(value):
        return validate_record_spec(RecordSpec(**{field: value}), profile)

    assert errors_for(lowest) == {}
    assert errors_for(highest) == {}
    for wrong in (lowest - 1, highest + 1, 2.5, True, "10"):
        errors = errors_for(wrong)
        assert list(errors) == [field]
        assert f"from {lowest} to {highest}" in errors[field][0]


def test_a_timeout_message_names_the_limit_and_the_value():
    errors = validate_record_spec(RecordSpec(max_record_duration=3600), "beta-record")
    assert errors == {
        "max_record_duration": [
            "The maximum record duration must be a whole number of seconds from 1 to 1800 "
            "on the beta-record profile; got 3600."
        ]
    }


def test_v1_plays_at_most_one_prompt():
    spec = RecordSpec(prompts=(PromptSpec(kind="media", uri=BEEP),) * 2)
    assert validate_record_spec(spec, "v1.0") == {
        "prompts": ["The v1.0 profile plays at most 1 prompt; this request has 2."]
    }


def test_v1_plays_no_silence_prompt():
    spec = RecordSpec(prompts=(PromptSpec(kind="silence", duration_ms=1000),))
    assert validate_record_spec(spec, "v1.0") == {
        "prompts": ["Prompt 1: The v1.0 profile plays only media prompts, not silence."]
    }


def test_v1_does_not_loop_a_prompt():
    spec = RecordSpec(prompts=(PromptSpec(kind="media", uri=BEEP, loop=2),))
    assert validate_record_spec(spec, "v1.0") == {
        "prompts": ["Prompt 1: The v1.0 profile does not loop prompts; leave loop unset."]
    }


def test_v1_sends_no_beta_only_fields():
    spec = RecordSpec(stream_while_recording=False, recording_format="wav")
    assert validate_record_spec(spec, "v1.0") == {
        "recording_format": [
            "The v1.0 profile does not send recordingFormat; leave it unset.",
        ],
        "stream_while_recording": [
            "The v1.0 profile does not send streamWhileRecording; leave it unset.",
        ],
    }


def test_beta_loops_a_prompt_from_once_to_a_hundred_times():
    def errors_for(loop):
        spec = RecordSpec(prompts=(PromptSpec(kind="media", uri=BEEP, loop=loop),))
        return validate_record_spec(spec, "beta-record")

    assert errors_for(1) == {}
    assert errors_for(100) == {}
    refused = "Prompt 1: A prompt plays from 1 to 100 times on the beta-record profile; got {}."
    assert errors_for(0) == {"prompts": [refused.format(0)]}
    assert errors_for(500) == {"prompts": [refused.format(500)]}


@pytest.mark.parametrize("duration", [0, -1, 300_001, 400_000, None, 1.5])
def test_beta_silence_needs_a_positive_duration_of_at_most_five_minutes(duration):
    spec = RecordSpec(
        prompts=(
            PromptSpec(kind="media", uri=BEEP),
            PromptSpec(kind="silence", duration_ms=duration),
        )
    )
    errors = validate_record_spec(spec, "beta-record")
    assert list(errors) == ["prompts"]
    assert errors["prompts"][0].startswith("Prompt 2: A silence prompt needs a duration from 1 to")


def test_beta_silence_of_five_minutes_is_allowed():
    spec = RecordSpec(prompts=(PromptSpec(kind="silence", duration_ms=300_000),))
    assert validate_record_spec(spec, "beta-record") == {}


def test_each_profiles_limits_are_graphs_and_the_emulators():
    # The same numbers are pinned on the emulator's side (graph_emulator/validation.py).
    beta, v1 = PROFILES["beta-record"], PROFILES["v1.0"]
    assert (beta.max_prompts, beta.max_loop, beta.silence_max_ms) == (20, 100, 300_000)
    assert beta.timeouts == {
        "initial_silence_timeout": (1, 300),
        "max_silence_timeout": (1, 300),
        "max_record_duration": (1, 1800),
    }
    assert (v1.max_prompts, v1.loop_allowed, v1.prompt_kinds) == (1, False, {"media"})
    assert v1.timeouts == {
        "initial_silence_timeout": (1, 120),
        "max_silence_timeout": (1, 120),
        "max_record_duration": (1, 120),
    }


def test_beta_plays_at_most_twenty_prompts():
    spec = RecordSpec(prompts=(PromptSpec(kind="media", uri=BEEP),) * 21)
    assert validate_record_spec(spec, "beta-record") == {
        "prompts": ["The beta-record profile plays at most 20 prompts; this request has 21."]
    }


def test_a_silence_prompt_has_no_uri_or_loop():
    spec = RecordSpec(prompts=(PromptSpec(kind="silence", duration_ms=10, uri=BEEP, loop=1),))
    assert validate_record_spec(spec, "beta-record") == {
        "prompts": [
            "Prompt 1: A silence prompt has no URI, resource id or loop; use a media prompt."
        ]
    }


@pytest.mark.parametrize(
    "uri", ["", "ftp://cdn.test/beep.wav", "file:///etc/passwd", "https://", "beep.wav", "http://["]
)
def test_a_media_uri_must_be_http_or_https_with_a_host(uri):
    spec = RecordSpec(prompts=(PromptSpec(kind="media", uri=uri),))
    assert validate_record_spec(spec, "v1.0") == {
        "prompts": ["Prompt 1: The media URI must be an http or https address with a host."]
    }


def test_a_media_prompt_has_no_duration():
    spec = RecordSpec(prompts=(PromptSpec(kind="media", uri=BEEP, duration_ms=100),))
    errors = validate_record_spec(spec, "beta-record")
    assert errors == {
        "prompts": ["Prompt 1: A media prompt has no duration; add a silence prompt for a pause."]
    }


def test_an_unknown_prompt_kind_is_named():
    spec = RecordSpec(prompts=(PromptSpec(kind="speech"),))
    assert validate_record_spec(spec, "beta-record") == {
        "prompts": ["Prompt 1: The kind 'speech' is unknown; a prompt is media or silence."]
    }


def test_the_client_context_is_at_most_256_characters():
    assert validate_record_spec(RecordSpec(client_context="x" * 256), "v1.0") == {}
    assert validate_record_spec(RecordSpec(client_context="x" * 257), "beta-record") == {
        "client_context": ["The client context is 257 characters long; Graph accepts at most 256."]
    }


def test_every_problem_is_reported_at_once_under_its_field():
    spec = RecordSpec(
        prompts=(PromptSpec(kind="media", uri="nope"), PromptSpec(kind="silence")),
        max_record_duration=0,
        stop_tones=("X",),
    )
    errors = validate_record_spec(spec=spec, profile=PROFILES["v1.0"])
    assert sorted(errors) == ["max_record_duration", "prompts", "stop_tones"]
    assert errors["prompts"] == [
        "The v1.0 profile plays at most 1 prompt; this request has 2.",
        "Prompt 1: The media URI must be an http or https address with a host.",
        "Prompt 2: The v1.0 profile plays only media prompts, not silence.",
    ]
