"""Recorder's web routes outside the admin, at the site root (the webhook's are in
`recordings.api_urls`): the operators' recording audio, and the public prompt files Graph
fetches."""

from django.urls import path

from recordings import views
from recordings.prompt_files import serve_prompt

app_name = "recordings"
urlpatterns = [
    path("recordings/<int:pk>/audio", views.recording_audio, name="recording-audio"),
    path("media/prompts/<path:path>", serve_prompt, name="prompt-file"),
]
