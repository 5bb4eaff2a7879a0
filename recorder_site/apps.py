from django.contrib.admin.apps import AdminConfig


class RecorderAdminConfig(AdminConfig):
    """The admin, on Recorder's site (recorder_site.admin_site): its navigation's order."""

    default_site = "recorder_site.admin_site.RecorderAdminSite"
