"""The lists' filters beyond the models' own fields: the operations list's completion reason,
and a from/to date range for the operations and calls lists."""

from datetime import date, datetime, time, timedelta

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils import timezone

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


class DateRangeFilter(admin.ListFilter):
    """From one day to another (both included, in local time), as two date boxes: the range
    is served by the list's (-created_at) index, where the date drill-down offers only whole
    years, months or days."""

    title = "date"
    field_name = "created_at"
    template = "admin/recordings/date_range_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.names = {"from": f"{self.field_name}__from", "to": f"{self.field_name}__to"}
        self.values: dict[str, date | None] = {}
        for key, name in self.names.items():
            raw = params.pop(name, [""])
            raw = raw[-1] if isinstance(raw, list) else raw
            try:
                self.values[key] = date.fromisoformat(raw) if raw else None
            except ValueError as err:
                raise IncorrectLookupParameters(f"{raw!r} is not a date (YYYY-MM-DD).") from err
            if raw:
                self.used_parameters[name] = raw

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return list(self.names.values())

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        def start_of(day: date) -> datetime:
            return timezone.make_aware(datetime.combine(day, time.min))

        start = self.values["from"] and start_of(self.values["from"])
        end = self.values["to"] and start_of(self.values["to"] + timedelta(days=1))
        return start, end

    def queryset(self, request, queryset):
        start, end = self.bounds()
        if start:
            queryset = queryset.filter(**{f"{self.field_name}__gte": start})
        if end:
            queryset = queryset.filter(**{f"{self.field_name}__lt": end})
        return queryset

    def choices(self, changelist):
        keep = [
            (name, value)
            for name, value in changelist.params.items()
            if name not in self.names.values() and name != "p"
        ]
        yield {
            "names": self.names,
            "from": self.values["from"].isoformat() if self.values["from"] else "",
            "to": self.values["to"].isoformat() if self.values["to"] else "",
            "hidden": [(name, v) for name, values in keep for v in _as_list(values)],
            "clear": changelist.get_query_string(remove=list(self.names.values())),
            "selected": bool(self.used_parameters),
        }


def _as_list(values) -> list:
    return values if isinstance(values, list) else [values]


class CreatedBetweenFilter(DateRangeFilter):
    title = "date created"
    field_name = "created_at"
