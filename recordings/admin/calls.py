"""Calls: the list, the call page with its Record and Hang up buttons, and the Record page."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from recordings import display, graph_setup, permissions, selectors
from recordings.admin import live
from recordings.admin.base import ReadOnlyAdmin
from recordings.admin.changelist import CappedCountPaginator
from recordings.admin.confirm import ObjectActionsMixin, Question
from recordings.admin.operation_columns import caller_text, id_with_copy
from recordings.admin.operation_filters import DateRangeFilter
from recordings.display import tone_key
from recordings.forms import (
    PromptFormSet,
    RecordForm,
    numbered_from_one,
    record_spec_from,
    show_refusal,
)
from recordings.graph import GraphError
from recordings.models import (
    Call,
    CallState,
    CallTone,
    Profile,
    Prompt,
    PromptAudio,
    RecordOperation,
    RecordRequest,
)
from recordings.services import calls as call_services
from recordings.services import errors as service_errors
from recordings.services import media as media_services
from recordings.services import recordings as recording_services


def hang_up_question(call: Call) -> Question:
    return Question(
        title="Hang up the call?",
        crumb="Hang up",
        text=format_html(
            "<p>Hang up call {}{}? The caller is disconnected, and a recording in progress ends "
            "with what was recorded so far.</p>",
            call.graph_id,
            format_html(" with {}", call.caller_name or call.caller_id) if call.caller_id else "",
        ),
        yes="Yes, hang up",
        no="No, take me back",
    )


def answer_question(call: Call) -> Question:
    return Question(
        title="Answer the call?",
        crumb="Answer",
        text=format_html(
            "<p>Answer call {}{}? Recorder takes the call with its own media, so it can be "
            "recorded.</p>",
            call.graph_id,
            format_html(" from {}", call.caller_name or call.caller_id) if call.caller_id else "",
        ),
        yes="Yes, answer",
        no="No, take me back",
    )


# Graph's reject reasons in the confirm page's words.
REJECT_CHOICES = (
    ("none", "No reason given"),
    ("busy", "Busy: the bot cannot take the call now"),
    ("forbidden", "Forbidden: the caller may not call the bot"),
)


def reject_question(call: Call) -> Question:
    return Question(
        title="Reject the call?",
        crumb="Reject",
        text=format_html(
            "<p>Reject call {}{}? The caller hears the call declined, with the reason you "
            "pick.</p>",
            call.graph_id,
            format_html(" from {}", call.caller_name or call.caller_id) if call.caller_id else "",
        ),
        yes="Yes, reject",
        no="No, take me back",
        choice_name="reason",
        choices=REJECT_CHOICES,
    )


def play_prompt_question(call: Call) -> Question:
    return Question(
        title="Play a prompt to the caller?",
        crumb="Play a prompt",
        text=format_html(
            "<p>Play an uploaded prompt to the caller on call {}, without recording. It queues "
            "behind a recording or prompt already under way.</p>",
            call.graph_id,
        ),
        yes="Play it",
        no="No, take me back",
        choice_name="prompt",
        choices=tuple((str(p.pk), p.name) for p in PromptAudio.objects.order_by("name")),
    )


def play_prompt_refusal(call: Call) -> tuple[str, int] | None:
    if not call.is_live:
        return f"Call {call.graph_id} has ended; a prompt plays only on a live call.", messages.INFO
    if not PromptAudio.objects.exists():
        return "Upload a prompt first: the library has none to play.", messages.INFO
    return None


def ringing_refusal(call: Call) -> tuple[str, int] | None:
    if not is_ringing(call):
        return f"Call {call.graph_id} no longer rings.", messages.INFO
    return None


def is_ringing(call: Call) -> bool:
    return call.state == CallState.INCOMING and call.answered_at is None


def hang_up_refusal(call: Call) -> tuple[str, int] | None:
    if not call.is_live:
        return f"Call {call.graph_id} has already ended.", messages.INFO
    return None


class CallCreatedBetweenFilter(DateRangeFilter):
    title = "date"
    field_name = "created_at"


@admin.register(Call)
class CallAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = [
        "call_id",
        "state_live",
        # The caller, with the call's direction under it: one column less on a wide list.
        "caller",
        # When it was answered is on the call's page; the list says how long it lasted.
        "duration",
        "ended",
        "latest_status",
        "latest_reason",
        "recording_length",
    ]
    list_display_links = ["call_id"]
    list_filter = [CallCreatedBetweenFilter, "state", "direction"]
    # Each filter has its (field, -created_at) index; the call list has no foreign key to join.
    list_select_related = []
    # Sorting by a column without an index would sort the whole table: the list stays in its
    # default order, newest first.
    sortable_by = []
    search_fields = ["graph_id", "caller_id", "caller_name"]
    search_help_text = (
        "A call id as the list shows it (its first characters) or whole, the caller's "
        "number (with or without +), or part of the caller's name."
    )
    show_full_result_count = False
    # A year of calls is counted no further than the cap, as the operations are.
    paginator = CappedCountPaginator
    actions = ["record_selected"]
    readonly_fields = ["recordings_on_call", "ended", "end_result", "timeline"]
    fieldsets = [
        (None, {"fields": ["graph_id", "state", "direction", ("caller_id", "caller_name")]}),
        ("Times", {"fields": [("created_at", "answered_at", "ended_at")]}),
        ("End", {"fields": ["ended", "end_result"]}),
        ("Recordings", {"fields": ["recordings_on_call"]}),
        ("Prompts and keys", {"fields": ["timeline"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        # A live call has no end to show yet.
        if obj is not None and obj.is_live:
            return [fieldset for fieldset in self.fieldsets if fieldset[0] != "End"]
        return self.fieldsets

    class Media:
        css = {"all": ["recordings/operations.css", "recordings/record.css", "recordings/live.css"]}
        js = ["recordings/live.js"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(latest_operation=selectors.latest_operation())

    def get_search_results(self, request, queryset, search_term):
        return selectors.search_calls(queryset, search_term), False

    # --- Columns --------------------------------------------------------------------------

    @admin.display(description="call")
    def call_id(self, call: Call) -> str:
        return id_with_copy(call.graph_id)

    @admin.display(description="state")
    def state_live(self, call: Call) -> str:
        return live.live("call", call.pk, "state", call.get_state_display())

    @admin.display(description="caller")
    def caller(self, call: Call) -> str:
        return format_html(
            '{}<br><span class="op-muted">{}</span>',
            caller_text(call.caller_id, call.caller_name),
            call.get_direction_display().lower(),
        )

    @admin.display(description="duration")
    def duration(self, call: Call) -> str:
        return live.live("call", call.pk, "duration", self.duration_text(call))

    def duration_text(self, call: Call) -> str:
        """From answer to hang-up; "live" while the call is up."""
        if call.answered_at is None:
            return "—"
        if call.ended_at is None:
            return "live" if call.is_live else "—"
        return display.duration_text((call.ended_at - call.answered_at).total_seconds())

    @admin.display(description="ended by")
    def ended(self, call: Call) -> str:
        return display.call_end(call)

    @admin.display(description="timeline")
    def timeline(self, call: Call) -> str:
        events = selectors.call_timeline(call)
        if not events:
            return "Nothing played, no key pressed."
        rows = []
        for event in events:
            if isinstance(event, CallTone):
                when, what = event.received_at, f"The caller pressed {tone_key(event.tone)}"
            else:
                when = event.created_at
                what = event.get_kind_display()
                if event.prompt_name:
                    what += f" “{event.prompt_name}”"
                what += f": {display.status_label(event.status)}"
                if event.result_code is not None:
                    what += f" ({event.result_code}/{event.result_subcode})"
            rows.append((display.time_text(when), what))
        items = format_html_join("", "<li>{}: {}</li>", rows)
        return format_html('<ul class="call-timeline">{}</ul>', items)

    @admin.display(description="latest")
    def latest_status(self, call: Call) -> str:
        latest = getattr(call, "latest_operation", None)
        return live.live(
            "call",
            call.pk,
            "latest_status",
            self.latest_status_html(call),
            url=live.calls_url(),
            active=live.latest_active(latest),
        )

    def latest_status_html(self, call: Call) -> str:
        latest = getattr(call, "latest_operation", None)
        if not latest:
            return "—"
        url = reverse("admin:recordings_recordoperation_change", args=[latest["pk"]])
        # The operations list's badge, so a status looks the same on both lists.
        return format_html(
            '<a href="{}">{}</a>',
            url,
            display.status_badge(
                latest["status"],
                latest["completion_reason"] or "",
                latest.get("cancelled_by") or "",
            ),
        )

    @admin.display(description="reason")
    def latest_reason(self, call: Call) -> str:
        return live.live("call", call.pk, "latest_reason", self.latest_reason_html(call))

    def latest_reason_html(self, call: Call) -> str:
        latest = getattr(call, "latest_operation", None)
        if not latest:
            return "—"
        # From the two values the list already has.
        key = display.reason_key(latest["completion_reason"] or "", latest["recorder_reason"] or "")
        return display.reason_label(key) if key else "—"

    @admin.display(description="length")
    def recording_length(self, call: Call) -> str:
        return live.live("call", call.pk, "recording_length", self.recording_length_text(call))

    def recording_length_text(self, call: Call) -> str:
        """The latest recording's length, once Recorder has its audio."""
        latest = getattr(call, "latest_operation", None) or {}
        if latest.get("recording_seconds") is None:
            return "—"
        return display.duration_text(latest["recording_seconds"])

    @admin.display(description="result")
    def end_result(self, call: Call):
        return display.result_html(call.result_code, call.result_subcode, call.result_message)

    @admin.display(description="latest")
    def recordings_on_call(self, call: Call) -> str:
        if hasattr(call, "latest_operation"):
            latest = call.latest_operation
        else:
            latest = selectors.latest_of(call)
        return live.live(
            "call",
            call.pk,
            "recordings_on_call",
            self.recordings_on_call_html(call),
            url=live.calls_url(detail=True),
            active=live.latest_active(latest),
        )

    def recordings_on_call_html(self, call: Call) -> str:
        operations = selectors.recent_operations(call, limit=10)
        if not operations:
            return "None yet."
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a>: {}</li>',
            (
                (
                    reverse("admin:recordings_recordoperation_change", args=[operation.pk]),
                    display.time_text(operation.created_at),
                    ", ".join(
                        part
                        for part in (
                            display.status_words(
                                operation.status,
                                operation.completion_reason,
                                operation.cancelled_by,
                            ),
                            operation.completion_reason_label,
                        )
                        if part
                    ),
                )
                for operation in operations
            ),
        )
        return format_html('<ul class="call-recordings">{}</ul>', items)

    # --- Permissions ----------------------------------------------------------------------

    def has_start_recording_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.START_RECORDING)

    def has_hang_up_call_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.HANG_UP_CALL)

    def has_answer_call_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.ANSWER_CALL)

    def has_reject_call_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.REJECT_CALL)

    def has_play_prompt_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.PLAY_PROMPT)

    def has_view_operations_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.VIEW_OPERATIONS)

    # --- Pages ----------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "live/",
                self.admin_site.admin_view(lambda request: live.calls_view(self, request)),
                name="{}_{}_live".format(*info),
            ),
            path(
                "<path:object_id>/record/",
                self.admin_site.admin_view(self.record_view),
                name="{}_{}_record".format(*info),
            ),
            path(
                "<path:object_id>/hang-up/",
                self.admin_site.admin_view(self.hang_up_view),
                name="{}_{}_hang_up".format(*info),
            ),
            path(
                "<path:object_id>/play-prompt/",
                self.admin_site.admin_view(self.play_prompt_view),
                name="{}_{}_play_prompt".format(*info),
            ),
            path(
                "<path:object_id>/answer/",
                self.admin_site.admin_view(self.answer_view),
                name="{}_{}_answer".format(*info),
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="{}_{}_reject".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        call = self.get_object(request, unquote(object_id))
        live = call is not None and call.is_live
        active = selectors.active_operation(call) if call is not None else None
        extra_context = {
            **(extra_context or {}),
            # One recording at a time on a call: Record returns when the running one ends.
            "can_record": live and active is None and self.has_start_recording_permission(request),
            "can_hang_up": live and self.has_hang_up_call_permission(request),
            "cancel_url": self._running_cancel_url(request, call) if live else "",
            "active_operation": active,
            "active_since": display.time_text(active.created_at) if active else "",
            "can_cancel_active": active is not None
            and request.user.has_perm(permissions.CANCEL_RECORDING),
        }
        # A ringing call waits for an operator only when Recorder does not answer by itself.
        ringing = call is not None and is_ringing(call) and not settings.AUTO_ANSWER
        extra_context["can_play_prompt"] = live and self.has_play_prompt_permission(request)
        extra_context["can_answer"] = ringing and self.has_answer_call_permission(request)
        extra_context["can_reject"] = ringing and self.has_reject_call_permission(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def _running_cancel_url(self, request: HttpRequest, call: Call) -> str:
        """The Cancel page of the call's running recording, for an operator who may cancel:
        what is queued behind it starts only once it ends."""
        if not request.user.has_perm(permissions.CANCEL_RECORDING):
            return ""
        running = selectors.running_operation(call)
        if running is None:
            return ""
        return reverse("admin:recordings_recordoperation_cancel", args=[running.pk])

    @admin.action(permissions=["start_recording"], description="Record selected calls")
    def record_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        calls = list(queryset.order_by("pk"))
        live = [call for call in calls if call.is_live]
        ended = len(calls) - len(live)
        if not live:
            self.message_user(
                request,
                "None of the selected calls is live; only a live call can be recorded.",
                messages.ERROR,
            )
            return None
        if ended:
            self.message_user(
                request,
                f"{ended} of the selected calls ha{'s' if ended == 1 else 've'} ended and "
                "will not be recorded.",
                messages.WARNING,
            )
        url = reverse("admin:recordings_call_record", args=[live[0].pk])
        if len(live) > 1:
            url += "?" + urlencode({"calls": ",".join(str(call.pk) for call in live)})
        return HttpResponseRedirect(url)

    def record_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        call = self.action_object(
            request, object_id, allowed=self.has_start_recording_permission(request)
        )
        if call is None:
            return self.missing_object(request, object_id)
        if not call.is_live:
            self.message_user(
                request,
                f"Call {call.graph_id} is {call.get_state_display().lower()}; only a live call "
                "can be recorded.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:recordings_call_change", args=[call.pk]))
        active = selectors.active_operation(call)
        if active is not None:
            self.message_user(
                request,
                f"Operation {active.graph_id} is still {active.get_status_display().lower()} on "
                f"call {call.graph_id}; wait for it to end, or cancel it, before recording again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:recordings_call_change", args=[call.pk]))
        calls = self._calls_to_record(request, call)
        rules = graph_setup.profile_rules()
        graph_error = ""
        if request.method == "POST":
            form = RecordForm(request.POST, rules=rules)
            formset = PromptFormSet(request.POST, rules=rules)
            spec = record_spec_from(form, formset)
            if spec is not None:
                started, failures, refusal = self._start(request, calls, spec)
                if refusal:
                    show_refusal(form, formset, refusal)
                elif started:
                    return self._after_start(request, started, failures)
                else:
                    graph_error = numbered_from_one(" ".join(failures))
        else:
            form = RecordForm(rules=rules)
            formset = PromptFormSet(rules=rules)

        context = {
            **self.admin_site.each_context(request),
            # An action page: the form, not the navigation, is what the keyboard reaches
            # first (the breadcrumbs lead back).
            "is_nav_sidebar_enabled": False,
            "opts": self.opts,
            "title": "Record "
            + (f"{len(calls)} calls" if len(calls) > 1 else f"call {call.graph_id}"),
            "subtitle": None,
            "call": call,
            "calls": calls,
            "rules": rules,
            "profile_label": Profile(rules.name).label,
            "form": form,
            "adminform": admin.helpers.AdminForm(form, form.fieldsets, {}, model_admin=self),
            "formset": formset,
            "graph_error": graph_error,
            "errors": form.errors or formset.total_error_count() or graph_error,
            "media": self.media + form.media + formset.media,
            "silence_allowed": Prompt.Kind.SILENCE in rules.prompt_kinds,
            "has_view_permission": self.has_view_permission(request, call),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/recordings/call/record.html", context)

    def _calls_to_record(self, request: HttpRequest, call: Call) -> list[Call]:
        """The call of the URL, plus the others the bulk action chose (still live ones)."""
        wanted = {int(pk) for pk in request.GET.get("calls", "").split(",") if pk.strip().isdigit()}
        wanted.discard(call.pk)
        others = [c for c in Call.objects.filter(pk__in=wanted).order_by("pk") if c.is_live]
        return [call, *others]

    def _start(self, request, calls, spec):
        """Start on each call. Returns the operations started, a sentence per call that could
        not be, and the errors of a request Recorder itself refused (then nothing was sent)."""
        started: list[RecordOperation] = []
        failures: list[str] = []
        for call in calls:
            try:
                operation = recording_services.start_recording(
                    call=call, spec=spec, by=request.user
                )
            except service_errors.RecordingRefused as err:
                if set(err.errors) != {"call"}:
                    return started, failures, err.errors
                failures.append(f"Call {call.graph_id}: {err}")
            except service_errors.GraphActionFailed as err:
                failures.append(
                    err.message if len(calls) == 1 else f"Call {call.graph_id}: {err.message}"
                )
            else:
                self.log_change(
                    request,
                    call,
                    f"Started a recording: operation {operation.graph_id} "
                    f"({operation.record_request.profile}).",
                )
                started.append(operation)
        return started, failures, None

    def _after_start(self, request, started, failures) -> HttpResponse:
        """Say what started and what did not, then show where the outcomes will appear."""
        for failure in failures:
            self.message_user(request, failure, messages.ERROR)
        where = "Recording started on " + (
            f"call {started[0].call.graph_id}" if len(started) == 1 else f"{len(started)} calls"
        )
        if not self.has_view_operations_permission(request):
            self.message_user(request, f"{where}.", messages.SUCCESS)
            fallback = "admin:recordings_call_changelist"
            if not self.has_view_permission(request):
                fallback = "admin:index"
            return HttpResponseRedirect(reverse(fallback))
        if len(started) == 1:
            self.message_user(
                request, f"{where}; its outcome shows here when Graph reports it.", messages.SUCCESS
            )
            return HttpResponseRedirect(
                reverse("admin:recordings_recordoperation_change", args=[started[0].pk])
            )
        self.message_user(request, f"{where}; their outcomes show in this list.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recordings_recordoperation_changelist"))

    def hang_up_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.confirmed_action(
            request,
            object_id,
            allowed=self.has_hang_up_call_permission(request),
            back_url=lambda call: self._call_url(request, call),
            refusal=hang_up_refusal,
            question=hang_up_question,
            act=lambda call: self._hang_up(request, call),
        )

    def play_prompt_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.confirmed_action(
            request,
            object_id,
            allowed=self.has_play_prompt_permission(request),
            back_url=lambda call: self._call_url(request, call),
            refusal=play_prompt_refusal,
            question=play_prompt_question,
            act=lambda call: self._play_prompt(request, call, request.POST.get("prompt", "")),
        )

    def _play_prompt(self, request: HttpRequest, call: Call, prompt_pk: str) -> None:
        prompt = PromptAudio.objects.filter(pk=prompt_pk).first() if prompt_pk.isdigit() else None
        if prompt is None:
            self.message_user(request, "Pick one of the uploaded prompts.", messages.ERROR)
            return
        try:
            media_services.play_prompt(call=call, prompt=prompt, by=request.user)
        except service_errors.CallActionRefused as err:
            self.message_user(request, str(err), messages.ERROR)
        except service_errors.GraphActionFailed as err:
            self.message_user(request, err.message, messages.ERROR)
        else:
            self.log_change(request, call, f"Played the prompt “{prompt.name}”.")
            self.message_user(
                request,
                f"Playing “{prompt.name}” on call {call.graph_id}; the call's timeline shows "
                "when Graph reports it done.",
                messages.SUCCESS,
            )

    def answer_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.confirmed_action(
            request,
            object_id,
            allowed=self.has_answer_call_permission(request),
            back_url=lambda call: self._call_url(request, call),
            refusal=ringing_refusal,
            question=answer_question,
            act=lambda call: self._answer(request, call),
        )

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.confirmed_action(
            request,
            object_id,
            allowed=self.has_reject_call_permission(request),
            back_url=lambda call: self._call_url(request, call),
            refusal=ringing_refusal,
            question=reject_question,
            act=lambda call: self._reject(request, call, request.POST.get("reason", "")),
        )

    def _answer(self, request: HttpRequest, call: Call) -> None:
        try:
            answered = call_services.answer_call(call=call, by=request.user)
        except GraphError as err:
            self.message_user(request, err.operator_message, messages.ERROR)
            return
        if not answered:
            self.message_user(request, f"Call {call.graph_id} no longer rings.", messages.INFO)
            return
        self.log_change(request, call, "Answered the call.")
        self.message_user(
            request,
            f"Answered call {call.graph_id}; it turns established when Graph confirms.",
            messages.SUCCESS,
        )

    def _reject(self, request: HttpRequest, call: Call, reason: str) -> None:
        try:
            call_services.reject_call(call=call, reason=reason, by=request.user)
        except service_errors.CallActionRefused as err:
            self.message_user(request, str(err), messages.ERROR)
        except service_errors.GraphActionFailed as err:
            self.message_user(request, err.message, messages.ERROR)
        else:
            self.log_change(request, call, f"Rejected the call ({reason}).")
            self.message_user(
                request,
                f"Asked Graph to reject call {call.graph_id} ({reason}); it turns terminated "
                "when Graph confirms.",
                messages.SUCCESS,
            )

    def _call_url(self, request: HttpRequest, call: Call) -> str:
        """The call's page, or the index for a user who may not see it."""
        if self.has_view_permission(request, call):
            return reverse("admin:recordings_call_change", args=[call.pk])
        return reverse("admin:index")

    def _hang_up(self, request: HttpRequest, call: Call) -> None:
        try:
            call_services.hang_up(call=call, by=request.user)
        except service_errors.CallActionRefused as err:
            self.message_user(request, str(err), messages.ERROR)
        except service_errors.GraphActionFailed as err:
            self.message_user(request, err.message, messages.ERROR)
        else:
            self.log_change(request, call, "Hung up the call.")
            self.message_user(
                request,
                f"Asked Graph to hang up call {call.graph_id}; its state turns to "
                "terminated when Graph confirms.",
                messages.SUCCESS,
            )


class PromptInline(admin.TabularInline):
    model = Prompt
    extra = 0
    can_delete = False
    fields = ["position", "kind", "uri", "loop", "duration_ms"]
    readonly_fields = fields


@admin.register(RecordRequest)
class RecordRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "call", "profile", "status", "requested_by", "requested_at"]
    list_filter = ["status", "profile"]
    list_select_related = ["call", "requested_by"]
    inlines = [PromptInline]
    show_full_result_count = False
