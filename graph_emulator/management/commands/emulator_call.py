"""Ring the bot from a simulated caller; the call id is the last line printed."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from graph_emulator import services
from graph_emulator.models import Delivery
from graph_emulator.script import ScriptError
from graph_emulator.transport import NotLoopback


class Command(BaseCommand):
    help = (
        "Place an incoming call on the Graph emulator and post its 'created' notification. "
        "Script words, separated by ';': silence S, speak S, press KEYS, stall, hangup, and "
        "optionally a leading interrupt S."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--script", default="speak 3", help='e.g. "silence 1; speak 2.5; press #"'
        )
        parser.add_argument("--caller", default=services.DEFAULT_CALLER)
        parser.add_argument(
            "--callback",
            default="",
            help=f"Notification URL (default: {settings.GRAPH_EMULATOR_CALLBACK_URL}).",
        )

    def handle(self, *args, script: str, caller: str, callback: str, **options) -> None:
        try:
            call = services.place_call(script=script, caller=caller, callback_url=callback)
        except (ScriptError, NotLoopback, ValueError) as err:
            raise CommandError(str(err)) from err
        # Here, unlike in a request, waiting is safe: the bot answers from another process.
        services.announce_call(call, wait=True)
        delivery = Delivery.objects.filter(call=call).order_by("id").first()
        if delivery is not None:
            answered = f"HTTP {delivery.http_status}" if delivery.http_status else delivery.error
            self.stdout.write(
                f"Ringing {call.callback_url} from {call.caller}: created notification "
                f"{delivery.status} ({answered or 'no answer'})."
            )
        self.stdout.write(call.id)
