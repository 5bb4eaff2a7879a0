"""The prompt library: WAV prompts operators upload for Graph to play."""

from django.contrib import admin
from django.utils.html import format_html

from recordings.forms import PromptAudioForm
from recordings.models import PromptAudio
from recordings.prompt_files import public_url
from recordings.services import prompts as prompt_services


@admin.register(PromptAudio)
class PromptAudioAdmin(admin.ModelAdmin):
    form = PromptAudioForm
    list_display = ["name", "duration", "player", "uploaded_by", "uploaded_at"]
    list_select_related = ["uploaded_by"]
    search_fields = ["name"]
    readonly_fields = ["duration", "size", "player", "url", "uploaded_by", "uploaded_at"]
    show_full_result_count = False

    class Media:
        css = {"all": ["recordings/record.css"]}

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "file"]
        return ["name", "file", "duration", "size", "player", "url", "uploaded_by", "uploaded_at"]

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, prompt: PromptAudio) -> str:
        return f"{prompt.duration_ms / 1000:.1f} s"

    @admin.display(description="size")
    def size(self, prompt: PromptAudio) -> str:
        return f"{prompt.size_bytes / 1024:,.0f} KiB"

    @admin.display(description="listen")
    def player(self, prompt: PromptAudio) -> str:
        # The public URL itself: what plays here is exactly what Graph fetches.
        return format_html(
            '<audio class="prompt-player" controls preload="none" src="{}"></audio>',
            public_url(prompt),
        )

    @admin.display(description="public URL")
    def url(self, prompt: PromptAudio) -> str:
        address = public_url(prompt)
        return format_html(
            '<a href="{}">{}</a><div class="help">Graph fetches the prompt from here; the Record '
            "page offers it by name.</div>",
            address,
            address,
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.uploaded_by = request.user
        replaced = form.initial.get("file") if change and "file" in form.changed_data else None
        prompt_services.save_prompt(prompt=obj, replaced=replaced)

    def delete_model(self, request, obj):
        prompt_services.delete_prompt(prompt=obj)

    def delete_queryset(self, request, queryset):
        prompt_services.delete_prompts(prompts=queryset)
