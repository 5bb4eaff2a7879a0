"""The operations list's filters beyond the model's own fields."""

from django.contrib import admin

from recordings.display import known_reasons
from recordings.models import RecordOperation


class CompletionReasonFilter(admin.SimpleListFilter):
    """By the reason the list shows: Recorder's own where it closed the operation, else
    Graph's. Its choices come from the code, never from a DISTINCT over the table."""

    title = "completion reason"
    parameter_name = "completion_reason"

    def lookups(self, request, model_admin):
        return known_reasons()

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value in RecordOperation.RecorderReason.values:
            return queryset.filter(recorder_reason=value)
        # Graph's reason, where Recorder did not override it (what the list shows).
        return queryset.filter(completion_reason=value, recorder_reason="")
