from django.urls import path

from recordings.webhook import NotificationWebhook

app_name = "recordings_api"
urlpatterns = [
    path("calls", NotificationWebhook.as_view(), name="notifications"),
]
