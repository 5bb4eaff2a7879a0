"""The prompt library's files go with their rows, once the row's change is committed."""

import pytest
from django.core.files.base import ContentFile

from recordings.models import PromptAudio
from recordings.services import prompts as prompt_services

# Prompts are written under a media root of the test's own.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def prompt(name: str) -> PromptAudio:
    saved = PromptAudio(name=name, duration_ms=500, size_bytes=4)
    saved.file = ContentFile(b"RIFF", name=f"{name}.wav")
    prompt_services.save_prompt(prompt=saved)
    return saved


def test_a_replaced_file_is_deleted_once_the_change_commits(
    media, django_capture_on_commit_callbacks
):
    welcome = prompt("welcome")
    old = welcome.file
    welcome.file = ContentFile(b"RIFF", name="welcome-again.wav")
    with django_capture_on_commit_callbacks() as callbacks:
        prompt_services.save_prompt(prompt=welcome, replaced=old)
        assert (media / "prompts" / "welcome.wav").exists()  # not before the commit
    for callback in callbacks:
        callback()
    assert not (media / "prompts" / "welcome.wav").exists()
    assert (media / "prompts" / "welcome-again.wav").exists()


def test_deleting_prompts_deletes_their_files_and_leaves_the_others(
    media, django_capture_on_commit_callbacks
):
    for name in ("one", "two", "kept"):
        prompt(name)
    with django_capture_on_commit_callbacks(execute=True):
        prompt_services.delete_prompts(prompts=PromptAudio.objects.exclude(name="kept"))
    assert sorted(p.name for p in (media / "prompts").iterdir()) == ["kept.wav"]
    assert list(PromptAudio.objects.values_list("name", flat=True)) == ["kept"]
