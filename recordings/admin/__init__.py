"""The operator pages. One module per area; each registers its own model admins."""

from django.contrib import admin

from recordings.admin import calls, exchanges, notifications, operations, prompts  # noqa: F401

admin.site.site_header = "Recorder"
admin.site.site_title = "Recorder"
admin.site.index_title = "Calls and recordings"
