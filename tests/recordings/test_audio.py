import io
import struct

import pytest

from recordings.audio import NotWav, inspect_wav, prompt_problems
from tests.support.audio import wav_bytes, with_data_size


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


HEADER_ONLY = wav_bytes(seconds=0)  # 44 bytes: RIFF, fmt and an empty data chunk


def test_a_data_chunk_longer_than_the_file_is_refused_not_believed():
    lying = with_data_size(wav_bytes(seconds=0.01), 0x7FFFFFFF)
    for allow in (True, False):
        with pytest.raises(NotWav) as refused:
            inspect_wav(io.BytesIO(lying), allow_streaming_placeholder=allow)
        assert "promises 2,147,483,647 bytes of audio, but only 320 follow" in str(refused.value)
        assert "cut short or its header is wrong" in str(refused.value)


def test_a_header_only_wav_that_claims_a_second_of_audio_is_refused():
    assert len(HEADER_ONLY) == 44
    with pytest.raises(NotWav, match="promises 32,000 bytes of audio, but only 0 follow"):
        inspect_wav(io.BytesIO(with_data_size(HEADER_ONLY, 32000)))


def test_a_header_only_wav_holds_no_frames_and_is_no_prompt():
    info = inspect_wav(io.BytesIO(HEADER_ONLY), allow_streaming_placeholder=False)
    assert info.frames == 0
    assert "it holds no audio" in prompt_problems(info)


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF])
def test_a_streamed_recordings_placeholder_size_counts_the_audio_that_is_there(placeholder):
    streamed = with_data_size(wav_bytes(seconds=1.5), placeholder)
    info = inspect_wav(io.BytesIO(streamed))
    assert info.frames == 24000
    assert info.duration_ms == 1500


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF])
def test_an_upload_with_a_placeholder_size_is_refused(placeholder):
    streamed = with_data_size(wav_bytes(seconds=1.5), placeholder)
    with pytest.raises(NotWav, match=r"gives its audio no length .* save it as a complete file"):
        inspect_wav(io.BytesIO(streamed), allow_streaming_placeholder=False)


def test_a_streamed_recording_with_no_audio_yet_has_no_frames():
    assert inspect_wav(io.BytesIO(with_data_size(HEADER_ONLY, 0xFFFFFFFF))).frames == 0


def test_a_file_cut_short_inside_its_format_chunk_is_refused():
    with pytest.raises(NotWav, match="'fmt ' chunk claims 16 bytes, but only 6 follow"):
        inspect_wav(io.BytesIO(wav_bytes()[:26]))


def test_a_file_that_ends_before_its_data_chunk_is_refused():
    with pytest.raises(NotWav, match=r"ends without its audio \(data\) chunk"):
        inspect_wav(io.BytesIO(wav_bytes()[:36]))


def test_chunks_after_the_audio_and_a_half_frame_are_not_counted_as_audio():
    data = wav_bytes(seconds=0.5)
    trailer = b"LIST" + struct.pack("<I", 4) + b"INFO"
    assert inspect_wav(io.BytesIO(data + trailer)).frames == 8000
    streamed = with_data_size(data, 0xFFFFFFFF) + b"\x01"  # a byte short of another frame
    assert inspect_wav(io.BytesIO(streamed)).frames == 8000


def test_a_wav_further_into_a_file_is_read_from_where_the_file_stands():
    buffer = io.BytesIO(b"junk" + wav_bytes(seconds=0.25))
    buffer.seek(4)
    assert inspect_wav(buffer).frames == 4000
    assert buffer.tell() == 4
