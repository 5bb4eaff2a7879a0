import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from recordings.models import PromptAudio
from tests.support.audio import wav_bytes
from tests.support.operators import VIEW_CALL, operator

# Prompts are written under a media root of the test's own.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

ADD = "/admin/recordings/promptaudio/add/"
LIST = "/admin/recordings/promptaudio/"


@pytest.fixture
def librarian(db):
    return operator(
        "add_promptaudio", "view_promptaudio", "change_promptaudio", "delete_promptaudio"
    )


def upload(client, name, content, filename="prompt.wav"):
    return client.post(
        ADD, {"name": name, "file": SimpleUploadedFile(filename, content, "audio/wav")}
    )


def test_an_uploaded_wav_is_kept_with_its_duration_size_and_uploader(librarian):
    response = upload(librarian, "Welcome", wav_bytes(seconds=1.5), "welcome.wav")

    assert response.status_code == 302
    prompt = PromptAudio.objects.get()
    assert (prompt.name, prompt.duration_ms, prompt.uploaded_by) == (
        "Welcome",
        1500,
        librarian.user,
    )
    assert prompt.size_bytes == len(wav_bytes(seconds=1.5))
    assert prompt.file.name == "prompts/welcome.wav"


def test_the_library_list_shows_each_prompts_duration_and_a_player_of_its_public_url(librarian):
    upload(librarian, "Welcome", wav_bytes(seconds=2.4), "welcome.wav")
    html = librarian.get(LIST).content.decode()
    assert "2.4 s" in html
    assert '<audio class="prompt-player" controls preload="none" ' in html
    assert 'src="http://testserver/media/prompts/welcome.wav"' in html


def test_an_mp3_is_refused_with_what_it_is_and_what_is_needed(librarian):
    response = upload(librarian, "Song", b"ID3\x04\x00" + b"\x00" * 64, "song.mp3")
    html = response.content.decode()
    assert "The file is an MP3 file: a RIFF/WAVE file is needed." in html
    assert not PromptAudio.objects.exists()


def test_a_stereo_cd_quality_wav_is_refused_naming_what_it_is_and_what_graph_plays(librarian):
    response = upload(librarian, "Stereo", wav_bytes(rate=44100, channels=2, seconds=0.5))
    html = response.content.decode()
    assert "The file is a 16-bit PCM, stereo, 44.1 kHz, 0.5 s WAV" in html
    assert "it has 2 channels; mono is needed" in html
    assert "it is sampled at 44100 Hz; 16 kHz is needed" in html
    assert not PromptAudio.objects.exists()


def test_an_8_bit_wav_is_refused(librarian):
    html = upload(librarian, "Old", wav_bytes(1.5, width=1)).content.decode()
    assert "it is 8-bit; 16-bit PCM is needed" in html


def test_a_prompt_is_served_at_its_public_url_to_anyone(librarian, client):
    upload(librarian, "Welcome", wav_bytes(seconds=0.5), "welcome.wav")

    response = client.get("/media/prompts/welcome.wav")

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert b"".join(response.streaming_content) == wav_bytes(seconds=0.5)


def test_the_public_prompt_url_serves_nothing_but_library_prompts(librarian, client, media):
    upload(librarian, "Welcome", wav_bytes(seconds=0.5), "welcome.wav")
    (media / "prompts" / "stray.wav").write_bytes(wav_bytes(1.5))
    (media / "recordings").mkdir()
    (media / "recordings" / "secret.wav").write_bytes(wav_bytes(1.5))

    assert client.get("/media/prompts/stray.wav").status_code == 404
    assert client.get("/media/prompts/../recordings/secret.wav").status_code == 404
    assert client.get("/media/prompts/%2e%2e/recordings/secret.wav").status_code == 404
    assert client.get("/media/prompts/").status_code == 404
    assert client.post("/media/prompts/welcome.wav").status_code == 405


def test_deleting_a_prompt_removes_its_file_from_the_public_folder(
    librarian, media, django_capture_on_commit_callbacks
):
    upload(librarian, "Welcome", wav_bytes(seconds=0.5), "welcome.wav")
    prompt = PromptAudio.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        librarian.post(f"{LIST}{prompt.pk}/delete/", {"post": "yes"})
    assert not (media / "prompts" / "welcome.wav").exists()


def test_the_record_page_offers_library_prompts_by_name_and_duration(librarian, call):
    upload(librarian, "Welcome", wav_bytes(seconds=2.4), "welcome.wav")
    client = operator(VIEW_CALL, "start_recording", username="recorder")
    html = client.get(reverse("admin:recordings_call_record", args=[call.pk])).content.decode()
    assert "Welcome (2.4 s)" in html
