import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from recordings.audio import chime_wav
from recordings.models import Call, CallState, PromptAudio
from recordings.services import prompts as prompt_services

DEMO_CALLERS = (
    ("+15550100", "silence 1; speak 3; press #"),
    ("+15550101", "speak 2; silence 1; speak 2; silence 6"),
)

# The library prompt a first recording can start with.
GREETING = "Greeting"


class Command(BaseCommand):
    help = (
        "Embedded mode only: a demo superuser, a greeting in the prompt library and two "
        "emulated calls to record."
    )

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION or not settings.GRAPH_EMULATOR:
            raise CommandError("demo_setup is for the embedded set-up with the emulator only.")
        User = get_user_model()
        if not User.objects.filter(username="demo").exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser("demo", "demo@example.invalid", password)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo superuser created. Sign in at {settings.RECORDER_BASE_URL}/admin/ "
                    f"as demo / {password} (shown this once; change it with "
                    "`manage.py changepassword demo`)."
                )
            )
        if not PromptAudio.objects.filter(name=GREETING).exists():
            prompt_services.add_generated_prompt(
                name=GREETING, wav=chime_wav(), file_name="greeting.wav"
            )
            self.stdout.write(f"Prompt library: added {GREETING!r}, a two-tone chime.")
        live = Call.objects.exclude(state__in=[CallState.TERMINATING, CallState.TERMINATED])
        # Ring the bot over HTTP through the emulator's own command: the two apps share no code.
        for caller, script in DEMO_CALLERS[live.count() :]:
            call_command("emulator_call", script=script, caller=caller, stdout=self.stdout)
