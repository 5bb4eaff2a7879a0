import io
import struct
import wave

import pytest

from recordings.audio import NotWav, inspect_wav, prompt_problems


def wav_bytes(*, rate=16000, channels=1, width=2, seconds=0.5) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(b"\0" * int(rate * seconds) * channels * width)
    return buffer.getvalue()


def test_it_reads_the_facts_of_a_prompt_ready_wav_and_finds_no_problem():
    info = inspect_wav(io.BytesIO(wav_bytes(seconds=1.25)))
    assert (info.sample_rate, info.channels, info.sample_width_bytes) == (16000, 1, 2)
    assert info.duration_ms == 1250
    assert info.describe() == "16-bit PCM, mono, 16 kHz, 1.2 s"
    assert prompt_problems(info) == []


def test_it_leaves_the_file_where_it_found_it():
    buffer = io.BytesIO(wav_bytes())
    inspect_wav(buffer)
    assert buffer.tell() == 0


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"rate": 44100}, "sampled at 44100 Hz; 16 kHz is needed"),
        ({"channels": 2}, "2 channels; mono is needed"),
        ({"width": 1}, "8-bit; 16-bit PCM is needed"),
        ({"seconds": 0}, "holds no audio"),
    ],
)
def test_it_names_what_keeps_a_wav_from_being_a_prompt(kwargs, problem):
    assert problem in " ".join(prompt_problems(inspect_wav(io.BytesIO(wav_bytes(**kwargs)))))


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"ID3\x03\x00" + b"\0" * 20, "an MP3 file"),
        (b"OggS" + b"\0" * 20, "an Ogg file"),
        (b"RIFF\0\0\0\0AVI LIST", "type 'AVI '"),
        (b"hello", "not a WAV file"),
    ],
)
def test_it_says_what_a_file_that_is_not_a_wav_is(data, what):
    with pytest.raises(NotWav, match="RIFF/WAVE file is needed") as refused:
        inspect_wav(io.BytesIO(data))
    assert what in str(refused.value)


def test_it_refuses_a_wav_that_is_not_pcm():
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)  # IEEE float
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 0)
    data = b"RIFF" + struct.pack("<I", len(body)) + body
    with pytest.raises(NotWav, match="PCM"):
        inspect_wav(io.BytesIO(data))
