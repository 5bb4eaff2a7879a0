"""The prompt library's writes. The public folder serves only prompts in the library: a removed
or replaced prompt's file goes too, once the row's change is committed."""

import io

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile

from recordings.audio import inspect_wav
from recordings.models import PromptAudio


def save_prompt(*, prompt: PromptAudio, replaced: FieldFile | None = None) -> None:
    """Save an uploaded or edited prompt; `replaced`, the file a new upload replaces, goes."""
    prompt.save()
    _delete_file_on_commit(replaced)


def add_generated_prompt(*, name: str, wav: bytes, file_name: str) -> PromptAudio:
    """Put a WAV Recorder made itself (the demo's greeting) in the library."""
    info = inspect_wav(io.BytesIO(wav), allow_streaming_placeholder=False)
    prompt = PromptAudio(name=name, duration_ms=info.duration_ms, size_bytes=len(wav))
    prompt.file.save(file_name, ContentFile(wav), save=False)
    save_prompt(prompt=prompt)
    return prompt


def delete_prompt(*, prompt: PromptAudio) -> None:
    file = prompt.file
    prompt.delete()
    _delete_file_on_commit(file)


def delete_prompts(*, prompts: QuerySet) -> None:
    files = [prompt.file for prompt in prompts]
    prompts.delete()
    for file in files:
        _delete_file_on_commit(file)


def _delete_file_on_commit(file: FieldFile | None) -> None:
    if file:
        storage, name = file.storage, file.name
        transaction.on_commit(lambda: storage.delete(name))
