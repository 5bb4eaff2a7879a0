from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Graph's notifications and Recorder's services are the only writers of these rows."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
