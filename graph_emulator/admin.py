"""The emulator in the admin: its state read-only (faults editable), and a page to place a
test call with a chosen caller script."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from graph_emulator import services
from graph_emulator.forms import PlaceCallForm
from graph_emulator.models import Call, Delivery, Fault, Operation, SigningKey


class ReadOnlyAdmin(admin.ModelAdmin):
    """State the emulator owns: look, and delete if you must, but do not edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class OperationInline(admin.TabularInline):
    model = Operation
    fields = ("id", "kind", "profile", "status", "completion_reason", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ("id", "caller", "state", "ended_by", "created_at")
    list_filter = ("state", "ended_by")
    search_fields = ("id", "caller")
    readonly_fields = (
        "id",
        "state",
        "caller",
        "script",
        "tenant_id",
        "callback_url",
        "ended_by",
        "result_code",
        "result_subcode",
        "result_message",
        "created_at",
        "answered_at",
        "ended_at",
    )
    inlines = [OperationInline]

    def get_urls(self):
        place = path(
            "place-call/",
            self.admin_site.admin_view(self.place_call_view),
            name="graph_emulator_call_place",
        )
        return [place, *super().get_urls()]

    def place_call_view(self, request: HttpRequest) -> HttpResponse:
        # The model's add permission stands for "may ring the bot".
        if not request.user.has_perm("graph_emulator.add_call"):
            raise PermissionDenied
        form = PlaceCallForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                call = services.place_call(
                    script=form.cleaned_data["script"],
                    caller=form.cleaned_data["caller"],
                    callback_url=form.cleaned_data["callback"],
                )
            except ValueError as err:
                form.add_error(None, str(err))
            else:
                services.announce_call(call, wait=False)
                self.message_user(
                    request,
                    f"The emulator is ringing the bot: call {call.id} from {call.caller}.",
                )
                return HttpResponseRedirect(
                    reverse("admin:graph_emulator_call_change", args=[call.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Place a test call",
            "subtitle": None,
            "has_view_permission": self.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/graph_emulator/call/place_call.html", context)


@admin.register(Operation)
class OperationAdmin(ReadOnlyAdmin):
    list_display = ("id", "call", "kind", "profile", "status", "completion_reason", "created_at")
    list_filter = ("kind", "profile", "status", "completion_reason")
    search_fields = ("id", "call__id", "client_context")
    exclude = ("access_token",)
    readonly_fields = (
        "id",
        "call",
        "kind",
        "profile",
        "status",
        "client_context",
        "parameters",
        "completion_reason",
        "result_code",
        "result_subcode",
        "result_message",
        "recording_location",
        "recording_seconds",
        "expires_at",
        "plan",
        "timeline_started_at",
        "created_at",
        "completed_at",
    )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "summary",
        "call",
        "status",
        "http_status",
        "attempts",
        "duplicate",
    )
    list_filter = ("status", "duplicate")
    search_fields = ("call__id", "operation_id", "summary")
    readonly_fields = (
        "call",
        "operation_id",
        "summary",
        "url",
        "payload",
        "status",
        "http_status",
        "attempts",
        "error",
        "duplicate",
        "created_at",
        "finished_at",
    )


@admin.register(Fault)
class FaultAdmin(admin.ModelAdmin):
    list_display = ("name", "params", "remaining", "created_at")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ("kid", "created_at")
    fields = ("kid", "created_at")
    readonly_fields = fields
