"""What the site answers before a view runs: request bodies too large to take, refused before
they are read."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from recordings.forms import mebibytes, prompt_too_large

# A prompt upload's body holds more than the file: its name, the CSRF token, the multipart
# boundaries and headers.
PROMPT_FORM_OVERHEAD_BYTES = 64 * 1024
PROMPT_UPLOAD_VIEWS = frozenset(
    {"admin:recordings_promptaudio_add", "admin:recordings_promptaudio_change"}
)
# Views that read their body themselves, having checked their own limit first: the webhook
# refuses a notification over NOTIFICATION_MAX_BYTES with its own answer.
SELF_LIMITED_VIEWS = frozenset({"recordings_api:notifications"})


class RequestBodyLimitMiddleware:
    """Answer 413 to a request whose Content-Length is over what its page takes, unread.

    Django parses a form's fields in memory only up to DATA_UPLOAD_MAX_MEMORY_SIZE, but it
    spools any file part to disk, whatever the page, before the view can refuse it. This runs
    once the URL is resolved and before the CSRF check (the first reader of the body), and
    lets through no more than DATA_UPLOAD_MAX_MEMORY_SIZE, except a prompt upload by staff
    (PROMPT_MAX_BYTES and the form around it). A body sent without Content-Length (chunked)
    is never read by Django at all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        declared = _declared_length(request)
        if declared <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return None
        view_name = request.resolver_match.view_name
        if view_name in SELF_LIMITED_VIEWS:
            return None
        if view_name in PROMPT_UPLOAD_VIEWS and _is_staff(request):
            refusal = prompt_too_large(declared - PROMPT_FORM_OVERHEAD_BYTES)
        else:
            refusal = (
                f"The request is {mebibytes(declared)}, and this page takes at most "
                f"{mebibytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}."
            )
        if refusal is None:
            return None
        return HttpResponse(refusal, status=413, content_type="text/plain; charset=utf-8")


def _declared_length(request: HttpRequest) -> int:
    # Django reads no body for a missing or malformed Content-Length, so neither counts.
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _is_staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_active and user.is_staff)
