"""Actions on one object from its page (Cancel on an operation, Hang up on a call, the legal
hold button): one way to check the permission, find the object and ask first."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

# Django's own sentence for an object that is gone, word for word, so its translations apply.
GONE = "%(name)s with ID “%(key)s” doesn’t exist. Perhaps it was deleted?"  # noqa: RUF001


@dataclass(frozen=True)
class Question:
    """What the confirmation page asks before the action runs."""

    title: str  # the page's heading, e.g. "Cancel this recording?"
    crumb: str  # the last breadcrumb, e.g. "Cancel"
    text: SafeString  # what will happen, as HTML built with format_html
    yes: str  # the button that acts
    no: str  # the link back
    # What the operator must pick before acting (Reject's reason): the POST field's name,
    # and its (value, label) choices; none for a plain yes or no.
    choice_name: str = ""
    choices: tuple[tuple[str, str], ...] = ()


class ObjectActionsMixin:
    """For a ModelAdmin (listed before it) whose pages act on one object at a time."""

    confirm_template = "admin/recordings/confirm.html"

    def action_object(self, request: HttpRequest, object_id: str, *, allowed: bool):
        """The object the URL names, or None when there is none (answer `missing_object`).
        Raises PermissionDenied first when the user may not act."""
        if not allowed:
            raise PermissionDenied
        return self.get_object(request, unquote(object_id))

    def missing_object(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """What the admin's own pages answer for an object that is gone: a message on the
        index page."""
        message = _(GONE) % {"name": self.opts.verbose_name, "key": unquote(object_id)}
        self.message_user(request, message, messages.WARNING)
        return HttpResponseRedirect(reverse("admin:index", current_app=self.admin_site.name))

    def confirmed_action(
        self,
        request: HttpRequest,
        object_id: str,
        *,
        allowed: bool,
        back_url: Callable[[Model], str],
        act: Callable[[Model], None],
        question: Callable[[Model], Question] | None = None,
        refusal: Callable[[Model], tuple[str, int] | None] | None = None,
    ) -> HttpResponse:
        """GET asks `question`, POST runs `act` (which says how it went); both then go to
        `back_url`. `refusal` gives (message, level) when the object's state rules the
        action out. Without a question, only a POST acts and a GET goes back."""
        obj = self.action_object(request, object_id, allowed=allowed)
        if obj is None:
            return self.missing_object(request, object_id)
        back = back_url(obj)
        refused = refusal(obj) if refusal else None
        if refused:
            self.message_user(request, *refused)
            return HttpResponseRedirect(back)
        if request.method == "POST":
            act(obj)
            return HttpResponseRedirect(back)
        if question is None:
            return HttpResponseRedirect(back)
        asked = question(obj)
        context = {
            **self.admin_site.each_context(request),
            # An action page: its question, not the navigation, is what the keyboard reaches.
            "is_nav_sidebar_enabled": False,
            "title": asked.title,
            "subtitle": None,
            "opts": self.opts,
            "object": obj,
            "question": asked,
            "back_url": back,
            "has_view_permission": self.has_view_permission(request, obj),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.confirm_template, context)
