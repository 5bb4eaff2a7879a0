"""The public prompt route; recorder_site.urls includes it at the site root."""

from django.urls import path

from recordings.prompt_files import serve_prompt

app_name = "prompts"
urlpatterns = [
    path("media/prompts/<path:path>", serve_prompt, name="file"),
]
