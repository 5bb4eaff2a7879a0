"""Read-only views of what Recorder knows. Graph's notifications and Recorder's services are
the only writers of these rows, so the admin never edits them."""

from django.contrib import admin

from recordings.models import (
    Call,
    GraphExchange,
    Notification,
    Prompt,
    RecordOperation,
    RecordRequest,
)

admin.site.site_header = "Recorder"
admin.site.site_title = "Recorder"
admin.site.index_title = "Calls and recordings"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ["graph_id", "state", "direction", "caller_id", "answered_at", "ended_at"]
    list_filter = ["state", "direction"]
    search_fields = ["graph_id", "caller_id"]
    show_full_result_count = False


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


@admin.register(RecordOperation)
class RecordOperationAdmin(ReadOnlyAdmin):
    list_display = ["graph_id", "call", "status", "completion_reason_label", "created_at"]
    list_filter = ["status", "completion_reason"]
    list_select_related = ["call"]
    search_fields = ["graph_id", "call__graph_id", "client_context"]
    # The access token is a credential: it is never shown.
    exclude = ["recording_access_token"]
    show_full_result_count = False

    @admin.display(description="completion reason")
    def completion_reason_label(self, obj):
        return obj.completion_reason_label


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "received_at", "remote_addr", "processed_at", "matched", "error"]
    list_filter = ["matched"]
    exclude = ["body"]
    readonly_fields = ["body_text"]
    show_full_result_count = False


@admin.register(GraphExchange)
class GraphExchangeAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "action", "method", "response_status", "attempts", "error"]
    list_filter = ["action", "response_status"]
    search_fields = ["client_request_id", "graph_request_id"]
    show_full_result_count = False
