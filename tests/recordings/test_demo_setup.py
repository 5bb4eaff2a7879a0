"""The demo's set-up: a first recording has a prompt to play."""

import io
from unittest import mock

import pytest
from django.core.management import call_command

from recordings.audio import chime_wav, inspect_wav, prompt_problems
from recordings.models import PromptAudio

pytestmark = pytest.mark.django_db


def test_the_chime_is_a_wav_graph_can_play_as_a_prompt():
    info = inspect_wav(io.BytesIO(chime_wav()), allow_streaming_placeholder=False)
    assert prompt_problems(info) == []
    assert 0.5 < info.duration_seconds < 2


def test_demo_setup_puts_a_greeting_in_the_prompt_library_once(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.GRAPH_EMULATOR = True
    settings.PRODUCTION = False
    with mock.patch("recordings.management.commands.demo_setup.call_command") as ring:
        call_command("demo_setup", stdout=io.StringIO())
        call_command("demo_setup", stdout=io.StringIO())
    assert ring.called
    greeting = PromptAudio.objects.get()
    assert greeting.name == "Greeting"
    assert greeting.size_bytes == len(chime_wav())
    with greeting.file.open("rb") as stored:
        assert stored.read() == chime_wav()
