"""Legal hold: operators keep an operation's audio past retention, one operation from its
page or many from the list."""

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from recordings.models import RecordOperation


def set_legal_hold(request: HttpRequest, queryset: QuerySet, *, on: bool) -> int:
    """Put the operations in `queryset` on legal hold (or release them); one admin log entry
    per operation that changed. Returns how many changed."""
    # Only what the log entries need (the id and the text of the row), not whole rows.
    changing = list(
        queryset.exclude(legal_hold=on).order_by().select_related(None).only("pk", "graph_id")
    )
    if not changing:
        return 0
    RecordOperation.objects.filter(pk__in=[op.pk for op in changing]).update(
        legal_hold=on, updated_at=timezone.now()
    )
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=changing,
        action_flag=CHANGE,
        change_message="Put on legal hold." if on else "Released from legal hold.",
    )
    return len(changing)


def hold_from_page(
    model_admin: admin.ModelAdmin, request: HttpRequest, operation: RecordOperation
) -> None:
    """The operation page's button: on hold or released, as its form says."""
    on = request.POST.get("legal_hold") == "on"
    set_legal_hold(request, model_admin.get_queryset(request).filter(pk=operation.pk), on=on)
    model_admin.message_user(
        request,
        "The operation is on legal hold: retention keeps its audio until the hold is released."
        if on
        else "The legal hold is released: retention treats this audio like any other.",
        messages.SUCCESS,
    )


@admin.action(description="Put on legal hold", permissions=["legal_hold"])
def put_on_legal_hold(model_admin, request, queryset):
    changed = set_legal_hold(request, queryset, on=True)
    model_admin.message_user(
        request, f"Put {_operations(changed)} on legal hold.", messages.SUCCESS
    )


@admin.action(description="Release legal hold", permissions=["legal_hold"])
def release_legal_hold(model_admin, request, queryset):
    changed = set_legal_hold(request, queryset, on=False)
    model_admin.message_user(
        request, f"Released {_operations(changed)} from legal hold.", messages.SUCCESS
    )


def _operations(n: int) -> str:
    return f"{n} operation{'s' if n != 1 else ''}"
