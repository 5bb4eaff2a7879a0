"""The emulator's record limits, pinned: Recorder keeps the same numbers in its own module, and
a test there pins them too (the two apps never import each other)."""

from graph_emulator.limits import LIMITS


def test_the_limits_per_profile_are_the_documented_ones():
    beta, v1 = LIMITS["beta-record"], LIMITS["v1.0"]
    assert (beta.max_prompts, beta.max_loop, beta.max_silence_prompt_ms) == (20, 100, 300_000)
    assert (beta.max_record_duration_seconds, beta.max_silence_timeout_seconds) == (1800, 300)
    assert (v1.max_prompts, v1.max_loop, v1.max_silence_prompt_ms) == (1, None, None)
    assert (v1.max_record_duration_seconds, v1.max_silence_timeout_seconds) == (120, 120)
    for limits in (beta, v1):
        assert limits.default_timeout_seconds == 5
        assert (limits.max_stop_tones, limits.max_stop_tone_keys) == (16, 1)
        assert limits.max_client_context == 256


def test_a_prompt_over_the_limits_is_named_from_zero(graph, established):
    call_id = established()
    body = {
        "prompts": [
            {"@odata.type": "#microsoft.graph.silencePrompt", "duration": 300_001},
            {
                "@odata.type": "#microsoft.graph.mediaPrompt",
                "mediaInfo": {"uri": "http://127.0.0.1/a.wav"},
                "loop": 101,
            },
        ]
    }
    response = graph.post(f"/emulator/beta/app/calls/{call_id}/record", body)
    message = response.json()["error"]["message"]
    assert "prompts[0].duration must be a whole number from 1 to 300000" in message
    assert "prompts[1].loop must be a whole number from 0 to 100" in message
