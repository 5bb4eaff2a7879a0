import io
import math
import struct
import wave

import pytest

from graph_emulator.audio import (
    DTMF_FREQUENCIES,
    PromptError,
    beep_wav,
    prompt_seconds,
    recording_chunks,
    tone_wav,
    wav_bytes,
    write_wav,
)
from graph_emulator.engine import RecordParams, plan_recording
from graph_emulator.script import parse_script


def read(data: bytes) -> tuple[wave._wave_params, list[int]]:
    with wave.open(io.BytesIO(data)) as wav:
        params = wav.getparams()
        frames = wav.readframes(params.nframes)
    return params, list(struct.unpack(f"<{len(frames) // 2}h", frames))


def power(samples: list[int], frequency: float) -> float:
    # Goertzel: the energy of one frequency.
    coeff = 2 * math.cos(2 * math.pi * frequency / 16000)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def rms(samples: list[int]) -> float:
    return math.sqrt(sum(x * x for x in samples) / len(samples))


def test_the_recording_is_a_16k_mono_16_bit_wav_of_the_recorded_span(tmp_path):
    outcome = plan_recording(
        prompts=[],
        params=RecordParams(stop_tones=("#",), max_duration=30),
        script=parse_script("silence 1; speak 2.5; press 1#"),
    )
    path = tmp_path / "r.wav"
    frames = write_wav(path, recording_chunks(outcome.segments, outcome.record_start))
    params, samples = read(path.read_bytes())
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    assert params.nframes == frames == len(samples)
    assert params.nframes / 16000 == pytest.approx(outcome.recorded_seconds) == pytest.approx(3.9)

    silence, speech = samples[:16000], samples[16000 : 16000 * 7 // 2]
    assert rms(silence) < 50  # near-silence, not digital zero
    assert rms(silence) > 0
    assert rms(speech) > 1000

    key_one = samples[56000 : 56000 + 2560]
    low, high = DTMF_FREQUENCIES["1"]
    assert power(key_one, low) > 100 * power(key_one, 941)
    assert power(key_one, high) > 100 * power(key_one, 1477)
    key_hash = samples[59200 : 59200 + 2560]
    assert power(key_hash, 941) > 100 * power(key_hash, 697)
    assert power(key_hash, 1477) > 100 * power(key_hash, 1209)


def test_stalled_media_is_written_as_digital_silence(tmp_path):
    outcome = plan_recording(
        prompts=[], params=RecordParams(max_duration=3), script=parse_script("speak 1; stall")
    )
    _, samples = read(wav_bytes(recording_chunks(outcome.segments, outcome.record_start)))
    assert len(samples) == 48000
    assert set(samples[16000:]) == {0}


def test_built_in_prompts_have_their_length():
    assert prompt_seconds(beep_wav()) == pytest.approx(0.5)
    assert prompt_seconds(tone_wav(1234)) == pytest.approx(1.234)


def _wav(channels=1, width=2, rate=16000, frames=1600) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(bytes(frames * channels * width))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"ID3 an mp3", "not a RIFF/WAVE"),
        (_wav(rate=8000), "16 kHz"),
        (_wav(channels=2), "16 kHz"),
        (_wav(width=1), "16 kHz"),
        (_wav(frames=0), "no audio"),
        (_wav()[:4] + b"\x00\x00\x00\x00WAVEjunk", "not a PCM WAV"),
    ],
)
def test_graph_refuses_prompts_it_cannot_play(data, says):
    with pytest.raises(PromptError, match=says):
        prompt_seconds(data)


def test_the_media_routes_serve_the_built_ins(client):
    beep = client.get("/emulator/media/beep.wav")
    assert beep.status_code == 200
    assert beep["Content-Type"] == "audio/wav"
    assert prompt_seconds(beep.content) == pytest.approx(0.5)
    tone = client.get("/emulator/media/tone-750.wav")
    assert prompt_seconds(tone.content) == pytest.approx(0.75)
    assert client.get("/emulator/media/tone-0.wav").status_code == 404
