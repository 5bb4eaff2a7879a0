"""The exchange log: every request Recorder sent Graph, with its answer, read-only."""

from django.contrib import admin
from django.utils.html import format_html

from recordings.admin.base import ReadOnlyAdmin
from recordings.admin.changelist import CappedCountPaginator
from recordings.models import GraphExchange
from recordings.redaction import pretty_payload


@admin.register(GraphExchange)
class GraphExchangeAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "action", "method", "response_status", "attempts", "error"]
    list_filter = ["action", "response_status"]
    search_fields = ["client_request_id", "graph_request_id"]
    list_per_page = 100
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    # Bodies are shown redacted: a get-operation answer carries the recording token.
    exclude = ["request_body", "response_body"]
    readonly_fields = ["sent", "answer"]

    @admin.display(description="request body")
    def sent(self, obj: GraphExchange):
        return format_html('<pre class="op-payload">{}</pre>', pretty_payload(obj.request_body))

    @admin.display(description="response body")
    def answer(self, obj: GraphExchange):
        secrets = [obj.operation.recording_access_token] if obj.operation_id else []
        return format_html(
            '<pre class="op-payload">{}</pre>', pretty_payload(obj.response_body, secrets=secrets)
        )
