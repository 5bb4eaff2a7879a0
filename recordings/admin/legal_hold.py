"""Legal hold: operators keep an operation's audio past retention, one operation from its
page or many from the list."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from recordings.models import RecordOperation
from recordings.services import retention as retention_services


def set_legal_hold(request: HttpRequest, queryset: QuerySet, *, on: bool) -> int:
    """Put the operations in `queryset` on legal hold (or release them); one admin log entry
    per operation that changed. Returns how many changed."""
    return retention_services.set_legal_hold(operations=queryset, on=on, by=request.user)


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
