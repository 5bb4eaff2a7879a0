"""Record operations: the list with its chart of completion reasons, the operation page with
the parameters sent and a timeline of every exchange with Graph, cancelling, legal hold and
CSV export.

Built to stay fast on a year of data (a million operations): every list query is served by an
index of RecordOperation (one per filter, each with the default sort behind it), no count
walks the whole table, and nothing asks the database for DISTINCT over it. The reads live in
`recordings.selectors`, the words in `recordings.display`; each concern of the list and the
page has its module beside this one.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from recordings import display, permissions, selectors
from recordings.admin import live
from recordings.admin.base import ReadOnlyAdmin
from recordings.admin.changelist import CappedCountPaginator, bounded_date_hierarchy
from recordings.admin.confirm import ObjectActionsMixin, Question
from recordings.admin.legal_hold import hold_from_page, put_on_legal_hold, release_legal_hold
from recordings.admin.operation_chart import reason_chart
from recordings.admin.operation_columns import (
    audio_cell,
    caller_text,
    finished_text,
    id_with_copy,
    operation_active,
    reason_cell,
    reason_detail,
    retention_cell,
)
from recordings.admin.operation_csv import export_changelist, export_selected_csv
from recordings.admin.operation_filters import CompletionReasonFilter, CreatedBetweenFilter
from recordings.admin.operation_timeline import operation_timeline
from recordings.admin.operation_zip import download_selected_zip
from recordings.models import RecordOperation
from recordings.redaction import pretty_payload
from recordings.services import errors as service_errors
from recordings.services import recordings as recording_services


def _yes_no(value: bool | None, default: str) -> str:
    if value is None:
        return f"not sent (Graph's default: {default})"
    return "yes" if value else "no"


def _seconds(value: int | None, default: str) -> str:
    if value is None:
        return f"not sent (Graph's default: {default})"
    return f"{value} s"


def parameters_sent(operation: RecordOperation) -> dict:
    """The record request as the operator chose it, in words, and the body as sent."""
    request = operation.record_request
    prompts = []
    sent = list(request.prompts.all())
    library = selectors.library_prompts([prompt.uri for prompt in sent if prompt.uri])
    for prompt in sent:
        if prompt.kind == prompt.Kind.SILENCE:
            prompts.append(f"Silence, {prompt.duration_ms} ms")
            continue
        loop = f", played {prompt.loop} times" if prompt.loop else ""
        known = library.get(prompt.uri)
        # A library prompt by the name operators gave it; the URL Graph fetched on hover.
        prompts.append(
            format_html(
                'Media <span class="op-prompt" title="{}">{}</span>{}',
                prompt.uri,
                known.name if known else prompt.uri,
                loop,
            )
        )
    rows = [
        ("Profile", request.get_profile_display()),
        ("Prompts", prompts),
        ("Play beep", _yes_no(request.play_beep, "yes")),
        ("Barge-in allowed", _yes_no(request.barge_in_allowed, "no")),
        ("Initial silence timeout", _seconds(request.initial_silence_timeout, "5 s")),
        ("Max silence timeout", _seconds(request.max_silence_timeout, "5 s")),
        ("Max record duration", _seconds(request.max_record_duration, "5 s")),
        ("Stop tones", " ".join(request.stop_tones) if request.stop_tones else "none"),
        ("Client context", request.client_context),
    ]
    if request.stream_while_recording is not None:
        rows.append(("Stream while recording", _yes_no(request.stream_while_recording, "no")))
    if request.recording_format:
        rows.append(("Recording format", request.recording_format))
    return {"rows": rows, "body": pretty_payload(request.body_sent)}


def cancel_question(operation: RecordOperation) -> Question:
    return Question(
        title="Cancel this recording?",
        crumb="Cancel",
        text=format_html(
            "<p>Graph will stop recording on call <code>{}</code> and end the operation as "
            "<em>Operation canceled</em>. What the caller said so far is discarded.</p>\n"
            "  <p>Recorder asks Graph with <code>cancelMediaProcessing</code>, which cancels "
            "every media operation running on this call.</p>",
            operation.call.graph_id,
        ),
        yes="Yes, cancel the recording",
        no="No, keep recording",
    )


def cancel_refusal(operation: RecordOperation) -> tuple[str, int] | None:
    if operation.is_final:
        return "This recording has already ended, so there is nothing to cancel.", messages.WARNING
    return None


@admin.register(RecordOperation)
class RecordOperationAdmin(ObjectActionsMixin, ReadOnlyAdmin):
    list_display = [
        "status_badge",
        "operation",
        "reason",
        "audio",
        "caller",
        "call_link",
        "retention",
        "requested_by",
        "when",
    ]
    list_display_links = ["operation"]
    list_filter = [CreatedBetweenFilter, "status", CompletionReasonFilter, "profile"]
    date_hierarchy = "created_at"
    # Searched by get_search_results (id prefixes, caller numbers, client context: index
    # lookups); listed so the box shows.
    search_fields = ["graph_id", "call__graph_id", "client_context"]
    search_help_text = (
        "An operation or call id as the list shows it (its first characters) or whole, "
        "the caller's number (with or without +), or a client context."
    )
    list_select_related = ["call", "record_request__requested_by", "recording"]
    ordering = ["-created_at"]
    # Only the column an index sorts; the others would sort a million rows.
    sortable_by = ["when"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    actions = [
        export_selected_csv,
        download_selected_zip,
        put_on_legal_hold,
        release_legal_hold,
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "graph_id",
                    "status_live",
                    "reason_live",
                    "result",
                    "call_detail",
                    "requested_by",
                    "client_context",
                    "profile",
                    "created_at",
                    "finished_when",
                    "legal_hold_state",
                ]
            },
        ),
    ]
    readonly_fields = [
        "status_live",
        "reason_live",
        "finished_when",
        "result",
        "call_detail",
        "requested_by",
        "legal_hold_state",
    ]

    class Media:
        css = {"all": ["recordings/operations.css", "recordings/live.css"]}
        js = ["recordings/live.js"]

    # -- pages

    def get_urls(self):
        opts = self.opts
        name = f"{opts.app_label}_{opts.model_name}"
        return [
            path(
                "live/",
                self.admin_site.admin_view(lambda request: live.operations_view(self, request)),
                name=f"{name}_live",
            ),
            path(
                "live/chart/",
                self.admin_site.admin_view(lambda request: live.chart_view(self, request)),
                name=f"{name}_live_chart",
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name=f"{name}_export",
            ),
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name=f"{name}_cancel",
            ),
            path(
                "<path:object_id>/legal-hold/",
                self.admin_site.admin_view(self.legal_hold_view),
                name=f"{name}_legal_hold",
            ),
            *super().get_urls(),
        ]

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if self.has_download_permission(request):
            columns[columns.index("audio")] = "audio_or_download"
        return columns

    def get_search_results(self, request, queryset, search_term):
        return selectors.search_operations(queryset, search_term), False

    def changelist_view(self, request, extra_context=None):
        changelist_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        extra_context = {
            "title": "Record operations",
            **(extra_context or {}),
            "reason_chart": reason_chart(changelist_url),
            "export_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_export"),
            "live_chart_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_live_chart"
            ),
        }
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl") if response else None
        if cl is not None:
            response.context_data["bounded_date_hierarchy"] = bounded_date_hierarchy(cl)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        operation = self.get_object(request, unquote(object_id))
        if operation is not None:
            extra_context = {**(extra_context or {}), **self.page_context(request, operation)}
        return super().change_view(request, object_id, form_url, extra_context)

    def page_context(self, request: HttpRequest, operation: RecordOperation) -> dict:
        timeline, timeline_capped = operation_timeline(operation)
        return {
            **live.audio_section_context(operation, download=self.has_download_permission(request)),
            "parameters": parameters_sent(operation),
            "timeline": timeline,
            "timeline_capped": timeline_capped,
            "timeline_max": selectors.TIMELINE_MAX_NOTIFICATIONS,
            "can_cancel": self.has_cancel_permission(request) and not operation.is_final,
            "can_hold": self.has_legal_hold_permission(request),
        }

    def page_url(self, operation: RecordOperation) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[operation.pk]
        )

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.confirmed_action(
            request,
            object_id,
            allowed=self.has_cancel_permission(request),
            back_url=self.page_url,
            refusal=cancel_refusal,
            question=cancel_question,
            act=lambda operation: self._cancel(request, operation),
        )

    def _cancel(self, request: HttpRequest, operation: RecordOperation) -> None:
        try:
            recording_services.cancel_recording(operation=operation, by=request.user)
        except service_errors.RecordingRefused as err:
            self.message_user(request, str(err), messages.ERROR)
        except service_errors.GraphActionFailed as err:
            self.message_user(request, err.message, messages.ERROR)
        else:
            self.log_change(request, operation, "Asked Graph to cancel the recording.")
            self.message_user(
                request,
                "Graph was asked to cancel the recording. The operation ends when Graph "
                "confirms it; this page shows it then.",
                messages.SUCCESS,
            )

    def legal_hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        # The page's button posts straight here: nothing to ask, nothing to show on a GET.
        return self.confirmed_action(
            request,
            object_id,
            allowed=self.has_legal_hold_permission(request),
            back_url=self.page_url,
            act=lambda operation: hold_from_page(self, request, operation),
        )

    def export_view(self, request: HttpRequest) -> HttpResponse:
        return export_changelist(self, request)

    # -- permissions

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.CANCEL_RECORDING)

    def has_legal_hold_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.SET_LEGAL_HOLD)

    def has_download_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.DOWNLOAD_RECORDING)

    # -- columns

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: RecordOperation):
        return self._live_status(obj, detail=False)

    @admin.display(description="status")
    def status_live(self, obj: RecordOperation):
        return self._live_status(obj, detail=True)

    def _live_status(self, obj: RecordOperation, *, detail: bool):
        """The badge, carrying the live route the page asks (the page's with its audio
        section) and whether the row still moves."""
        return live.live(
            "op",
            obj.pk,
            "status",
            display.status_badge(obj.status, obj.completion_reason, obj.cancelled_by),
            url=live.operations_url(detail=detail),
            active=operation_active(obj),
        )

    @admin.display(description="operation")
    def operation(self, obj: RecordOperation):
        return id_with_copy(obj.graph_id)

    @admin.display(description="completion reason")
    def reason(self, obj: RecordOperation):
        return live.live(
            "op", obj.pk, "reason", reason_cell(obj.completion_reason, obj.recorder_reason)
        )

    @admin.display(description="completion reason")
    def reason_live(self, obj: RecordOperation):
        return live.live("op", obj.pk, "reason_detail", reason_detail(obj))

    @admin.display(description="finished at")
    def finished_when(self, obj: RecordOperation):
        return live.live("op", obj.pk, "finished_at", finished_text(obj))

    @admin.display(description="result")
    def result(self, obj: RecordOperation):
        return display.result_html(obj.result_code, obj.result_subcode, obj.result_message)

    @admin.display(description="legal hold")
    def legal_hold_state(self, obj: RecordOperation):
        return display.legal_hold_text(obj.legal_hold)

    @admin.display(description="caller")
    def caller(self, obj: RecordOperation):
        return caller_text(obj.call.caller_id, obj.call.caller_name)

    @admin.display(description="call")
    def call_link(self, obj: RecordOperation):
        url = reverse("admin:recordings_call_change", args=[obj.call_id])
        return id_with_copy(obj.call.graph_id, href=url)

    @admin.display(description="audio kept")
    def retention(self, obj: RecordOperation):
        cell = retention_cell(obj, selectors.recording_of(obj))
        return live.live("op", obj.pk, "retention", cell)

    @admin.display(description="created", ordering="created_at")
    def when(self, obj: RecordOperation):
        return display.compact_time(obj.created_at)

    @admin.display(description="call")
    def call_detail(self, obj: RecordOperation):
        call = obj.call
        return format_html(
            '<a href="{}" class="op-id">{}</a> <span class="op-raw">({}{})</span>',
            reverse("admin:recordings_call_change", args=[call.pk]),
            call.graph_id,
            call.get_state_display(),
            f", caller {call.caller_id}" if call.caller_id else "",
        )

    @admin.display(description="asked by")
    def requested_by(self, obj: RecordOperation):
        user = obj.record_request.requested_by
        return user.get_username() if user else "—"

    @admin.display(description="recording")
    def audio(self, obj: RecordOperation):
        return live.live("op", obj.pk, "audio", audio_cell(obj, download=False))

    @admin.display(description="recording")
    def audio_or_download(self, obj: RecordOperation):
        return live.live("op", obj.pk, "audio", audio_cell(obj, download=True))
