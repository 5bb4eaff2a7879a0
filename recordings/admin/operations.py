from django.contrib import admin

from recordings.admin.base import ReadOnlyAdmin
from recordings.models import GraphExchange, RecordOperation


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


@admin.register(GraphExchange)
class GraphExchangeAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "action", "method", "response_status", "attempts", "error"]
    list_filter = ["action", "response_status"]
    search_fields = ["client_request_id", "graph_request_id"]
    show_full_result_count = False
