"""The media engine as a pure function: one case per completion reason, and the rules."""

import pytest

from graph_emulator.engine import (
    BEEP_SECONDS,
    Outcome,
    PromptPlay,
    RecordParams,
    canceled,
    cut,
    plan_recording,
)
from graph_emulator.script import parse_script


def run(script="", prompts=(), *, beep_fails=False, media_error=False, **params):
    return plan_recording(
        prompts=list(prompts),
        params=RecordParams(**params),
        script=parse_script(script),
        beep_fails=beep_fails,
        media_error=media_error,
    )


def kinds(outcome: Outcome) -> list[tuple[str, float]]:
    return [(s.kind, round(s.end - s.start, 6)) for s in outcome.segments]


TWO_SECONDS = PromptPlay("media", 2.0, label="greeting")


def test_stop_tone_ends_the_recording_at_the_end_of_the_key():
    out = run("silence 1; speak 2; press 5#; speak 3", stop_tones=("#",), max_duration=30)
    assert out.reason == "stopToneDetected"
    assert out.status == "completed"
    assert out.result.code == 200
    assert out.record_start == BEEP_SECONDS
    assert out.ends_at == pytest.approx(BEEP_SECONDS + 3.4)
    assert kinds(out) == [("silence", 1.0), ("speech", 2.0), ("dtmf", 0.2), ("dtmf", 0.2)]


def test_a_stop_tone_of_several_keys_needs_them_in_a_row():
    out = run("speak 1; press 1; press 2; press 11", stop_tones=("11",), max_duration=30)
    assert out.reason == "stopToneDetected"
    assert out.ends_at == pytest.approx(BEEP_SECONDS + 1.8)


def test_max_duration_caps_the_recording():
    out = run("speak 60", max_duration=10, max_silence=5)
    assert out.reason == "maxRecordDurationReached"
    assert (out.result.code, out.result.subcode) == (200, 8515)
    assert out.message == "Action completed, max record duration reached."
    assert out.recorded_seconds == pytest.approx(10)


def test_initial_silence_counts_from_the_end_of_prompts_and_beep():
    out = run("silence 10; speak 1", prompts=[TWO_SECONDS], initial_silence=3, max_duration=30)
    assert out.reason == "initialSilenceTimeout"
    assert out.status == "completed"
    assert out.record_start == pytest.approx(2.5)
    assert out.ends_at == pytest.approx(5.5)
    assert kinds(out) == [("silence", 3.0)]


def test_max_silence_counts_once_the_caller_has_started():
    out = run("speak 1; silence 1; speak 1; silence 9", max_silence=2, max_duration=30)
    assert out.reason == "maxSilenceTimeout"
    assert out.ends_at == pytest.approx(BEEP_SECONDS + 3 + 2)


def test_a_pause_exactly_as_long_as_the_timeout_ends_it():
    out = run("speak 1; silence 2; speak 1", max_silence=2, max_duration=30)
    assert out.reason == "maxSilenceTimeout"


def test_hangup_while_recording_completes_with_the_audio_so_far():
    out = run("speak 2; hangup", max_duration=30)
    assert out.reason == "none"
    assert out.status == "completed"
    assert out.caller_hung_up
    assert out.recorded_seconds == pytest.approx(2)


def test_hangup_during_the_prompts_completes_with_nothing_recorded():
    out = run("interrupt 0.5; hangup", prompts=[TWO_SECONDS])
    assert out.reason == "none"
    assert out.record_start is None
    assert out.recorded_seconds == 0


def test_unplayable_prompt_fails_when_its_turn_comes():
    bad = PromptPlay("media", None, error="prompt 2 is not 16 kHz")
    out = run("speak 1", prompts=[TWO_SECONDS, bad])
    assert out.reason == "playPromptFailed"
    assert out.status == "failed"
    assert out.ends_at == pytest.approx(2.0)
    assert "prompt 2 is not 16 kHz" in out.message
    assert not out.has_recording


def test_beep_failure_fails_after_the_prompts():
    out = run("speak 1", prompts=[TWO_SECONDS], beep_fails=True)
    assert out.reason == "playBeepFailed"
    assert out.status == "failed"
    assert out.ends_at == pytest.approx(2.0)


def test_no_beep_no_beep_failure():
    out = run("speak 1", prompts=[TWO_SECONDS], beep_fails=True, play_beep=False)
    assert out.reason == "maxRecordDurationReached"
    assert out.record_start == pytest.approx(2.0)


def test_stalled_media_fails_after_ten_seconds():
    out = run("speak 1; stall", max_duration=60)
    assert out.reason == "mediaReceiveTimeout"
    assert out.status == "failed"
    assert out.ends_at == pytest.approx(BEEP_SECONDS + 1 + 10)


def test_a_stall_still_loses_to_an_earlier_max_duration():
    out = run("speak 1; stall", max_duration=5)
    assert out.reason == "maxRecordDurationReached"
    assert kinds(out) == [("speech", 1.0), ("nomedia", 4.0)]


def test_media_error_fails_at_once():
    out = run("speak 1", prompts=[TWO_SECONDS], media_error=True)
    assert out.reason == "unspecifiedError"
    assert out.status == "failed"
    assert out.ends_at == 0


def test_cancel_outcome_fails_without_a_recording():
    out = canceled(3.0)
    assert (out.reason, out.status, out.result.code, out.result.subcode) == (
        "operationCanceled",
        "failed",
        400,
        8508,
    )
    assert not out.has_recording


def test_loops_and_silence_prompts_add_up():
    prompts = [PromptPlay("media", 1.5, loop=3), PromptPlay("silence", 2.0)]
    out = run("speak 1", prompts=prompts, max_duration=30)
    assert out.record_start == pytest.approx(1.5 * 3 + 2 + BEEP_SECONDS)


def test_barge_in_cuts_the_prompts_and_records_at_once():
    out = run("interrupt 1; speak 2", prompts=[TWO_SECONDS], barge_in=True, max_duration=30)
    assert out.record_start == pytest.approx(1.0)
    assert out.reason == "maxSilenceTimeout"
    assert kinds(out) == [("speech", 2.0), ("silence", 5.0)]


def test_barge_in_also_cuts_a_prompt_that_would_fail_later():
    bad = PromptPlay("media", None, error="unreachable")
    out = run("interrupt 1; speak 2", prompts=[TWO_SECONDS, bad], barge_in=True)
    assert out.reason != "playPromptFailed"
    assert out.record_start == pytest.approx(1.0)


def test_without_barge_in_input_during_the_prompts_is_lost():
    out = run("interrupt 0; press #; silence 9", prompts=[TWO_SECONDS], stop_tones=("#",))
    # The key fell in the prompt; recording then hears nothing.
    assert out.reason == "initialSilenceTimeout"
    assert out.record_start == pytest.approx(2.5)


def test_speech_that_runs_past_the_beep_is_recorded_from_the_start_of_recording():
    out = run("interrupt 1; speak 3", prompts=[TWO_SECONDS], max_duration=30)
    assert out.record_start == pytest.approx(2.5)
    assert kinds(out)[0] == ("speech", 1.5)


def test_ties_go_to_initial_silence_before_max_duration():
    assert run("", initial_silence=5, max_duration=5).reason == "initialSilenceTimeout"


def test_cut_keeps_the_audio_up_to_the_hangup():
    out = run("speak 20", max_duration=30, max_silence=5)
    partial = cut(out, BEEP_SECONDS + 4)
    assert partial.reason == "none"
    assert partial.recorded_seconds == pytest.approx(4)
    assert kinds(partial) == [("speech", 4.0)]
    # A plan already due stands.
    assert cut(out, out.ends_at + 1) == out


def test_outcomes_survive_json():
    out = run("speak 1; press 1#", stop_tones=("#",))
    assert Outcome.from_json(out.to_json()) == out
