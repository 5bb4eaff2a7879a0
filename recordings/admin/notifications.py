from django.contrib import admin

from recordings.admin.base import ReadOnlyAdmin
from recordings.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "received_at", "remote_addr", "processed_at", "matched", "error"]
    list_filter = ["matched"]
    exclude = ["body"]
    readonly_fields = ["body_text"]
    show_full_result_count = False
