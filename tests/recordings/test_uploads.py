"""What an upload may be: a prompt is believed only for the audio it holds, is no larger than
PROMPT_MAX_BYTES, and a body too large for its page is refused before anything reads it."""

import io
import struct

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from recordings.models import PromptAudio
from tests.support.audio import wav_bytes, with_data_size
from tests.support.operators import operator

# Prompts are written under a media root of the test's own.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

ADD = "/admin/recordings/promptaudio/add/"
LOGIN = "/admin/login/"
MiB = 1024 * 1024


@pytest.fixture
def librarian(db):
    return operator("add_promptaudio", "view_promptaudio", "change_promptaudio")


def upload(client: Client, content: bytes):
    return client.post(
        ADD, {"name": "Welcome", "file": SimpleUploadedFile("welcome.wav", content, "audio/wav")}
    )


def errors(response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(str(e) for e in response.context["adminform"].form.errors["file"])


def test_a_wav_whose_data_chunk_claims_hours_it_does_not_hold_is_refused(librarian):
    response = upload(librarian, with_data_size(wav_bytes(0.5), 0x7FFFFFFF))
    message = errors(response)
    assert "promises 2,147,483,647 bytes of audio, but only 16,000 follow" in message
    assert "Export it as a 16-bit PCM, mono, 16 kHz WAV." in message
    assert not PromptAudio.objects.exists()


def test_a_header_only_wav_is_not_taken_for_a_one_second_prompt(librarian):
    header_only = with_data_size(wav_bytes(0), 32000)
    assert len(header_only) == 44
    assert "promises 32,000 bytes of audio, but only 0 follow" in errors(
        upload(librarian, header_only)
    )
    assert "it holds no audio" in errors(upload(librarian, wav_bytes(0)))
    assert not PromptAudio.objects.exists()


def test_a_wav_left_with_a_streaming_placeholder_for_its_length_is_refused(librarian):
    message = errors(upload(librarian, with_data_size(wav_bytes(0.5), 0xFFFFFFFF)))
    assert "gives its audio no length" in message
    assert "save it as a complete file" in message


def test_a_prompts_duration_is_that_of_the_audio_it_holds(librarian):
    upload(librarian, wav_bytes(1.25) + b"LIST" + struct.pack("<I", 4) + b"INFO")
    assert PromptAudio.objects.get().duration_ms == 1250


def test_a_prompt_over_prompt_max_bytes_is_refused_with_the_limit(librarian, settings):
    settings.PROMPT_MAX_BYTES = MiB // 2
    message = errors(upload(librarian, wav_bytes(20)))  # 640 KiB
    assert "The file is 0.6 MiB, and a prompt may be at most 0.5 MiB" in message
    assert not PromptAudio.objects.exists()


def test_the_upload_form_says_how_large_a_prompt_may_be(librarian):
    assert "At most 10 MiB." in librarian.get(ADD).content.decode()


def test_staff_may_upload_a_prompt_larger_than_other_pages_take(librarian, settings):
    settings.PROMPT_MAX_BYTES = 4 * MiB
    content = wav_bytes(90)  # 2.7 MiB, over DATA_UPLOAD_MAX_MEMORY_SIZE
    assert len(content) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    assert upload(librarian, content).status_code == 302
    assert PromptAudio.objects.get().duration_ms == 90_000


class UnreadBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise AssertionError("The request body was read.")


def post_declaring(
    client: Client, path: str, length: int, content_type="multipart/form-data; boundary=x"
):
    """POST to `path` announcing a body of `length` bytes, without sending it."""
    return client.generic(
        "POST",
        path,
        b"",
        content_type=content_type,
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": UnreadBody()},
    )


def test_an_anonymous_200_mib_post_to_the_login_page_is_refused_unread():
    response = post_declaring(Client(), LOGIN, 200 * MiB)
    assert response.status_code == 413
    assert response.content.decode() == "The request is 200 MiB, and this page takes at most 1 MiB."


def test_a_300_mib_prompt_upload_is_refused_unread_with_the_limit(librarian):
    response = post_declaring(librarian, ADD, 300 * MiB)
    assert response.status_code == 413
    assert "a prompt may be at most 10 MiB" in response.content.decode()


def test_only_staff_may_send_a_prompt_sized_body(settings):
    settings.PROMPT_MAX_BYTES = 4 * MiB
    response = post_declaring(Client(), ADD, 3 * MiB)
    assert response.status_code == 413
    assert "this page takes at most 1 MiB" in response.content.decode()


def test_the_webhook_still_answers_an_oversized_notification_itself(settings):
    response = post_declaring(
        Client(), "/api/calls", settings.NOTIFICATION_MAX_BYTES + 1, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "The notification body is larger than Recorder accepts."}


def test_a_body_within_the_limit_reaches_the_page(settings):
    response = Client().post(LOGIN, {"username": "nobody", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors
