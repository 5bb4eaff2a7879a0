"""Serving a stored recording: permission, inline or attachment, and HTTP Range for seeking."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.urls import reverse

from recordings.models import FetchStatus, Recording
from tests.support.audio import wav_bytes

AUDIO = wav_bytes()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_X_ACCEL_REDIRECT = ""


@pytest.fixture
def stored(make_operation):
    operation = make_operation(status="completed")
    recording = Recording(operation=operation, status=FetchStatus.STORED, size_bytes=len(AUDIO))
    recording.file.save("op.wav", ContentFile(AUDIO), save=False)
    recording.save()
    return recording


@pytest.fixture
def listener(client, db):
    user = User.objects.create_user("listener", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="download_recording"))
    client.force_login(user)
    return client


def audio_url(recording: Recording, **query) -> str:
    url = reverse("recordings:recording-audio", args=[recording.operation_id])
    return url + ("?download=1" if query.get("download") else "")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_it_streams_the_whole_file_inline_for_the_player(listener, stored):
    response = listener.get(audio_url(stored))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(AUDIO))
    assert response["Content-Disposition"].startswith("inline")
    assert body(response) == AUDIO


def test_it_offers_an_attachment_with_a_safe_name_for_download(listener, stored):
    response = listener.get(audio_url(stored, download=True))
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert f'-{stored.operation_id}.wav"' in disposition
    assert "/" not in disposition.split("filename=", 1)[1]


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=-100", len(AUDIO) - 100, len(AUDIO)),
        ("bytes=100-", 100, len(AUDIO)),
    ],
)
def test_it_answers_a_range_with_206(listener, stored, header, start, stop):
    response = listener.get(audio_url(stored), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{stop - 1}/{len(AUDIO)}"
    assert response["Content-Length"] == str(stop - start)
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == AUDIO[start:stop]


@pytest.mark.parametrize("header", ["bytes=999999-", "bytes=50-10", "bytes=abc"])
def test_it_answers_416_to_a_range_it_cannot_satisfy(listener, stored, header):
    response = listener.get(audio_url(stored), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(AUDIO)}"


def test_it_ignores_a_range_in_another_unit(listener, stored):
    response = listener.get(audio_url(stored), HTTP_RANGE="items=0-1")
    assert response.status_code == 200


def test_a_user_without_the_download_permission_is_refused(client, stored):
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(audio_url(stored)).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client, stored):
    response = client.get(audio_url(stored))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_recording_not_stored_is_not_found(listener, stored):
    Recording.objects.filter(pk=stored.pk).update(status=FetchStatus.PURGED)
    assert listener.get(audio_url(stored)).status_code == 404


def test_it_hands_the_file_to_nginx_when_configured(listener, stored, settings):
    settings.RECORDING_X_ACCEL_REDIRECT = "/protected/"
    response = listener.get(audio_url(stored, download=True))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected/{stored.file.name}"
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"].startswith("attachment")
    assert response.content == b""
