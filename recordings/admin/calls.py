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

from recordings import display, permissions, selectors
from recordings.admin.base import ReadOnlyAdmin
from recordings.admin.confirm import ObjectActionsMixin, Question
from recordings.forms import PromptFormSet, RecordForm, record_spec_from, show_refusal
from recordings.graph.profiles import get_profile
from recordings.models import Call, Profile, Prompt, RecordOperation, RecordRequest
from recordings.services import calls as call_services
from recordings.services import errors as service_errors
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


def hang_up_refusal(call: Call) -> tuple[str, int] | None:
    if not call.is_live:
        return f"Call {call.graph_id} has already ended.", messages.INFO
    return None


@admin.register(Call)
class CallAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = [
        "graph_id",
        "state",
        "caller",
        "direction",
        "answered_at",
        "latest_status",
        "latest_reason",
    ]
    list_filter = ["state", "direction"]
    # Each filter has its (field, -created_at) index; the call list has no foreign key to join.
    list_select_related = []
    # Sorting by a column without an index would sort the whole table: the list stays in its
    # default order, newest first.
    sortable_by = []
    search_fields = ["graph_id", "caller_id", "caller_name"]
    search_help_text = "The whole Graph call id, or part of the caller's number or name."
    show_full_result_count = False
    actions = ["record_selected"]
    readonly_fields = ["recordings_on_call", "end_result"]
    fieldsets = [
        (None, {"fields": ["graph_id", "state", "direction", ("caller_id", "caller_name")]}),
        ("Times", {"fields": [("created_at", "answered_at", "ended_at")]}),
        ("End", {"fields": ["end_result"]}),
        ("Recordings", {"fields": ["recordings_on_call"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        # A live call has no end to show yet.
        if obj is not None and obj.is_live:
            return [fieldset for fieldset in self.fieldsets if fieldset[0] != "End"]
        return self.fieldsets

    class Media:
        css = {"all": ["recordings/operations.css", "recordings/record.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(latest_operation=selectors.latest_operation())

    def get_search_results(self, request, queryset, search_term):
        return selectors.search_calls(queryset, search_term), False

    # --- Columns --------------------------------------------------------------------------

    @admin.display(description="caller")
    def caller(self, call: Call) -> str:
        if call.caller_name and call.caller_id:
            return f"{call.caller_name} ({call.caller_id})"
        return call.caller_name or call.caller_id or "—"

    @admin.display(description="latest recording")
    def latest_status(self, call: Call) -> str:
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
        latest = getattr(call, "latest_operation", None)
        if not latest:
            return "—"
        # From the two values the list already has.
        key = display.reason_key(latest["completion_reason"] or "", latest["recorder_reason"] or "")
        return display.reason_label(key) if key else "—"

    @admin.display(description="result")
    def end_result(self, call: Call):
        return display.result_html(call.result_code, call.result_subcode, call.result_message)

    @admin.display(description="latest")
    def recordings_on_call(self, call: Call) -> str:
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

    def has_view_operations_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.VIEW_OPERATIONS)

    # --- Pages ----------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
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
            "active_operation": active,
            "active_since": display.time_text(active.created_at) if active else "",
            "can_cancel_active": active is not None
            and request.user.has_perm(permissions.CANCEL_RECORDING),
        }
        return super().change_view(request, object_id, form_url, extra_context)

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
        rules = get_profile(settings.GRAPH_API_PROFILE)
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
                    graph_error = " ".join(failures)
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
