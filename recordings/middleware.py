"""What the site answers before a view runs: request bodies too large to take, refused before
they are read; and django-axes' hooks for login throttling: whom a login comes from, and the
admin login page's answer to a lockout."""

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

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


def client_address(request: HttpRequest) -> str | None:
    """The address a login comes from (django-axes' AXES_CLIENT_IP_CALLABLE).

    REMOTE_ADDR, unless AXES_TRUSTED_PROXY_COUNT proxies stand in front of Recorder, each
    appending the address it was reached from to X-Forwarded-For: then the entry that many
    from the right, the one the outermost proxy wrote. Entries further left come from the
    client and could be anything, so they are never read.
    """
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.AXES_TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return remote  # not through all the proxies: whoever connected is the client
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def lockout_sentence() -> str:
    """What an operator is told while django-axes refuses logging in."""
    minutes = settings.AXES_COOLOFF_TIME.total_seconds() / 60
    return (
        "Logging in is locked after too many failed attempts for this user name or from this "
        f"address. Try again in {minutes:g} minutes (another attempt meanwhile starts the wait "
        "again), or ask an administrator to lift the lock with manage.py axes_reset."
    )


def login_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: the admin's login page again, saying it is locked.

    The page is drawn anew with an empty form, so the usual "enter a correct password" note
    does not contradict the lockout; templates/admin/login.html shows the sentence.
    """
    sentence = lockout_sentence()
    context = getattr(original_response, "context_data", None)
    if not isinstance(original_response, TemplateResponse) or not context or "form" not in context:
        return HttpResponse(sentence, status=429, content_type="text/plain; charset=utf-8")
    form = context["form"]
    locked = {
        **context,
        "form": type(form)(request, initial={"username": form.data.get("username", "")}),
        "login_locked": sentence,
    }
    response = TemplateResponse(request, original_response.template_name, locked, status=429)
    return response.render()
