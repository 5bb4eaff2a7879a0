"""Operator-facing routes outside the admin (the webhook's are in `recordings.urls`)."""

from django.urls import path

from recordings import views

app_name = "recordings"
urlpatterns = [
    path("recordings/<int:pk>/audio", views.recording_audio, name="recording-audio"),
]
