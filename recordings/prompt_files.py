"""Uploaded prompts at the public URL Graph fetches them from (PROMPT_BASE_URL).

In production a web server or object storage serves MEDIA_ROOT/prompts/ at PROMPT_BASE_URL and
this view is never reached; in the embedded set-up it is what answers. It serves only files a
PromptAudio row names, so nothing else under MEDIA_ROOT (recordings above all) is reachable
through it, and a crafted path finds no row.
"""

from urllib.parse import quote, unquote

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from recordings.models import PromptAudio

UPLOAD_FOLDER = "prompts/"


def public_url(prompt: PromptAudio) -> str:
    """Where Graph (and an operator's browser) fetches the prompt's WAV."""
    base = settings.PROMPT_BASE_URL.rstrip("/") + "/"
    return base + quote(prompt.file.name.removeprefix(UPLOAD_FOLDER))


def stored_name(url: str) -> str | None:
    """The file name of the library prompt `public_url` gives this URL, or None for a URL
    outside PROMPT_BASE_URL."""
    base = settings.PROMPT_BASE_URL.rstrip("/") + "/"
    if not url.startswith(base) or len(url) == len(base):
        return None
    return UPLOAD_FOLDER + unquote(url.removeprefix(base))


@require_safe
def serve_prompt(request: HttpRequest, path: str) -> FileResponse:
    prompt = PromptAudio.objects.filter(file=UPLOAD_FOLDER + path).first()
    if prompt is None:
        raise Http404("No such prompt.")
    try:
        handle = prompt.file.open("rb")
    except FileNotFoundError:
        raise Http404("The prompt's file is missing.") from None
    return FileResponse(handle, content_type="audio/wav")
