"""The Graph webhook API; recorder_site.urls includes it under /api/."""

from django.urls import path

from recordings.webhook import NotificationWebhook

app_name = "recordings_api"
urlpatterns = [
    path("calls", NotificationWebhook.as_view(), name="notifications"),
]
