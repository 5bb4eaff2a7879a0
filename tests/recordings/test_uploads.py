"""What an upload may be: a prompt is believed only for the audio it holds."""

import io
import struct
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from recordings.models import PromptAudio
from tests.recordings.admin.operators import operator

pytestmark = pytest.mark.django_db

ADD = "/admin/recordings/promptaudio/add/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PROMPT_BASE_URL = "http://testserver/media/prompts/"
    return tmp_path


@pytest.fixture
def librarian(db):
    return operator("add_promptaudio", "view_promptaudio", "change_promptaudio")


def wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x01\x00" * int(16000 * seconds))
    return out.getvalue()


def with_data_size(data: bytes, size: int) -> bytes:
    at = data.index(b"data") + 4
    return data[:at] + struct.pack("<I", size) + data[at + 4 :]


def upload(client: Client, content: bytes):
    return client.post(
        ADD, {"name": "Welcome", "file": SimpleUploadedFile("welcome.wav", content, "audio/wav")}
    )


def errors(response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(str(e) for e in response.context["adminform"].form.errors["file"])


def test_a_wav_whose_data_chunk_claims_hours_it_does_not_hold_is_refused(librarian):
    response = upload(librarian, with_data_size(wav(0.5), 0x7FFFFFFF))
    message = errors(response)
    assert "promises 2,147,483,647 bytes of audio, but only 16,000 follow" in message
    assert "Export it as a 16-bit PCM, mono, 16 kHz WAV." in message
    assert not PromptAudio.objects.exists()


def test_a_header_only_wav_is_not_taken_for_a_one_second_prompt(librarian):
    header_only = with_data_size(wav(0), 32000)
    assert len(header_only) == 44
    assert "promises 32,000 bytes of audio, but only 0 follow" in errors(
        upload(librarian, header_only)
    )
    assert "it holds no audio" in errors(upload(librarian, wav(0)))
    assert not PromptAudio.objects.exists()


def test_a_wav_left_with_a_streaming_placeholder_for_its_length_is_refused(librarian):
    message = errors(upload(librarian, with_data_size(wav(0.5), 0xFFFFFFFF)))
    assert "gives its audio no length" in message
    assert "save it as a complete file" in message


def test_a_prompts_duration_is_that_of_the_audio_it_holds(librarian):
    upload(librarian, wav(1.25) + b"LIST" + struct.pack("<I", 4) + b"INFO")
    assert PromptAudio.objects.get().duration_ms == 1250
