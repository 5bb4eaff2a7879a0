"""The notification log: every authenticated POST Graph made to the webhook, read-only, with
an action to apply selected ones again."""

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from recordings import permissions
from recordings.admin.base import ReadOnlyAdmin
from recordings.admin.changelist import CappedCountPaginator
from recordings.display import compact_time, summarize_notification
from recordings.models import Notification
from recordings.redaction import pretty_payload
from recordings.services import notifications as notification_services


class YesNoFilter(admin.SimpleListFilter):
    """A filter with two choices, each a Q for the queryset."""

    options: tuple[tuple[str, str], tuple[str, str]] = (("yes", "Yes"), ("no", "No"))

    def lookups(self, request, model_admin):
        return self.options

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(self.when_yes())
        if self.value() == "no":
            return queryset.exclude(self.when_yes())
        return queryset

    def when_yes(self):
        raise NotImplementedError


class VerifiedFilter(YesNoFilter):
    # The webhook stores nothing it has not verified, so "No" lists rows stored some other
    # way (none, in normal running): the filter is there to prove it.
    title = "verified"
    parameter_name = "verified"

    def when_yes(self):
        return ~Q(token_claims={})


class ProcessedFilter(YesNoFilter):
    title = "processed"
    parameter_name = "processed"

    def when_yes(self):
        return Q(processed_at__isnull=False)


class MatchedFilter(YesNoFilter):
    title = "matched"
    parameter_name = "matched"
    options = (("yes", "Yes"), ("no", "No: waits for its operation"))

    def when_yes(self):
        return Q(matched=True)

    def queryset(self, request, queryset):
        # matched=False in that shape is what the partial index on unmatched rows serves.
        if self.value() == "no":
            return queryset.filter(matched=False)
        return super().queryset(request, queryset)


class ErroredFilter(YesNoFilter):
    title = "errored"
    parameter_name = "errored"

    def when_yes(self):
        return ~Q(error="")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["when", "about", "state", "remote_addr"]
    list_filter = [VerifiedFilter, ProcessedFilter, MatchedFilter, ErroredFilter]
    fields = [
        "received_at",
        "remote_addr",
        "verified_by",
        "state",
        "processed_at",
        "unmatched_operation_ids",
        "error",
        "traceback",
        "request_headers",
        "payload",
    ]
    readonly_fields = ["verified_by", "state", "request_headers", "payload"]
    ordering = ["-received_at"]
    sortable_by = ["when"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    actions = ["reapply"]

    class Media:
        css = {"all": ["recordings/operations.css"]}

    def has_reapply_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.REAPPLY_NOTIFICATIONS)

    @admin.action(description="Re-apply selected notifications", permissions=["reapply"])
    def reapply(self, request, queryset):
        applied, failed = [], []
        # Oldest first, as Graph sent them: a later word then lands after an earlier one.
        for notification in queryset.order_by("received_at", "pk"):
            try:
                notification_services.apply_notification(notification)
            except Exception:
                failed.append(notification)
            else:
                applied.append(notification)
        if applied:
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=applied,
                action_flag=CHANGE,
                change_message="Re-applied.",
            )
            self.message_user(
                request,
                f"Re-applied {len(applied)} notification{'s' if len(applied) != 1 else ''}.",
                messages.SUCCESS,
            )
        if failed:
            self.message_user(
                request,
                f"{len(failed)} notification{'s' if len(failed) != 1 else ''} could not be "
                "applied; each one's error is on its page.",
                messages.ERROR,
            )

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Notifications", **(extra_context or {})})

    @admin.display(description="received", ordering="received_at")
    def when(self, obj: Notification):
        return compact_time(obj.received_at)

    @admin.display(description="about")
    def about(self, obj: Notification):
        operations = reverse("admin:recordings_recordoperation_changelist")
        return format_html_join(
            "",
            "<div>{}</div>",
            (
                (
                    format_html('<a href="{}?q={}">{}</a>', operations, operation_id, what)
                    if operation_id
                    else what,
                )
                for what, operation_id in summarize_notification(obj.body).lines()
            ),
        )

    @admin.display(description="state")
    def state(self, obj: Notification):
        if obj.error:
            return format_html(
                '<span class="op-badge op-status-failed" title="{}">errored</span>', obj.error
            )
        if obj.processed_at is None:
            return mark_safe('<span class="op-badge">not processed</span>')
        if not obj.matched:
            return format_html(
                '<span class="op-badge" title="Waits for: {}">unmatched</span>',
                ", ".join(obj.unmatched_operation_ids),
            )
        return mark_safe('<span class="op-badge op-status-completed">applied</span>')

    @admin.display(description="verified")
    def verified_by(self, obj: Notification):
        claims = obj.token_claims or {}
        if not claims:
            return "No token claims stored."
        return format_html(
            "issuer <code>{}</code>, audience <code>{}</code>, tenant <code>{}</code>",
            claims.get("iss", "?"),
            claims.get("aud", "?"),
            claims.get("tid", "?"),
        )

    @admin.display(description="headers")
    def request_headers(self, obj: Notification):
        return format_html('<pre class="op-payload">{}</pre>', pretty_payload(obj.headers))

    @admin.display(description="body")
    def payload(self, obj: Notification):
        return format_html('<pre class="op-payload">{}</pre>', pretty_payload(obj.body))
