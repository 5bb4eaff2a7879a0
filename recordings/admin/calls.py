from django.contrib import admin

from recordings.admin.base import ReadOnlyAdmin
from recordings.models import Call, Prompt, RecordRequest


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
