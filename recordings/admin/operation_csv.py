"""The operations list as CSV: the whole filtered list, or the selected rows.

The export carries the stored values as they are (raw reasons, seconds, bytes), for
spreadsheets and scripts, not the pages' words.
"""

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from recordings.display import reason_key, reason_label

# (header, field path). Never the access token: the export leaves Recorder.
CSV_COLUMNS = (
    ("operation id", "graph_id"),
    ("status", "status"),
    ("completion reason", "completion_reason"),
    ("recorder reason", "recorder_reason"),
    ("result code", "result_code"),
    ("result subcode", "result_subcode"),
    ("result message", "result_message"),
    ("profile", "profile"),
    ("call id", "call__graph_id"),
    ("caller", "call__caller_id"),
    ("requested by", "record_request__requested_by__username"),
    ("client context", "client_context"),
    ("created at", "created_at"),
    ("finished at", "finished_at"),
    ("audio", "recording__status"),
    ("duration seconds", "recording__duration_seconds"),
    ("size bytes", "recording__size_bytes"),
    ("legal hold", "legal_hold"),
)
# After the stored values: how the operation ended in the pages' words ("The caller hung up").
REASON_HEADER = "reason"
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_rows(queryset: QuerySet) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([*(header for header, _ in CSV_COLUMNS), REASON_HEADER])
    fields = [field for _, field in CSV_COLUMNS]
    reasons = fields.index("completion_reason"), fields.index("recorder_reason")
    rows = queryset.values_list(*fields)
    # iterator(): rows stream from a server-side cursor, never all in memory at once.
    for row in rows.iterator(chunk_size=2000):
        words = reason_label(reason_key(row[reasons[0]], row[reasons[1]]))
        yield writer.writerow([*(_csv_cell(value) for value in row), _csv_cell(words)])


def csv_response(queryset: QuerySet) -> StreamingHttpResponse:
    name = f"record-operations-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def export_changelist(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """The current list, its filters, search and dates applied, as CSV."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        cl = model_admin.get_changelist_instance(request)
    except IncorrectLookupParameters:
        model_admin.message_user(
            request,
            "Those filters no longer apply; clear them and export again.",
            messages.ERROR,
        )
        opts = model_admin.opts
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    return csv_response(cl.queryset)


@admin.action(description="Export selected operations to CSV", permissions=["view"])
def export_selected_csv(model_admin, request, queryset):
    return csv_response(queryset.order_by("-created_at", "-pk"))
