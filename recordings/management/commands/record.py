import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from recordings.display import reason_key, reason_label
from recordings.graph import ProfileRules, PromptSpec, RecordSpec, get_profile
from recordings.models import Call, RecordOperation
from recordings.services import errors as service_errors
from recordings.services import operations as operation_services
from recordings.services import recordings as recording_services

PROMPT_HELP = "silence:MS, or media:URI[:LOOP]; repeat for several prompts, in order"


def parse_prompt(value: str) -> PromptSpec:
    kind, _, rest = value.partition(":")
    if kind == "silence":
        try:
            return PromptSpec(kind="silence", duration_ms=int(rest))
        except ValueError:
            raise CommandError(
                f"--prompt {value!r}: silence takes milliseconds, e.g. silence:1500"
            ) from None
    if kind == "media" and rest:
        uri, loop = rest, None
        head, _, tail = rest.rpartition(":")
        # A URI has colons of its own (scheme, port): only a trailing bare number is a loop.
        if head and tail.isdigit() and "/" in head:
            uri, loop = head, int(tail)
        return PromptSpec(kind="media", uri=uri, loop=loop)
    raise CommandError(f"--prompt {value!r}: use {PROMPT_HELP}.")


def prompt_limits(rules: ProfileRules) -> str:
    """The profile's prompt limits in a few words, for --help."""
    most = f"at most {rules.max_prompts} prompt(s)" if rules.max_prompts else "any number"
    if "silence" not in rules.prompt_kinds:
        return f"{most}, media only, no loop on {rules.name}"
    return (
        f"{most}; silence up to {rules.silence_max_ms} ms, LOOP 1 to {rules.max_loop} "
        f"on {rules.name}"
    )


class Command(BaseCommand):
    help = "Record the caller on a live call; prints the operation id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("call_id", help="Graph call id")
        parser.add_argument(
            "--prompt",
            action="append",
            default=[],
            help=f"{PROMPT_HELP}; {prompt_limits(get_profile(settings.GRAPH_API_PROFILE))}",
        )
        parser.add_argument(
            "--stop-tone",
            action="append",
            default=[],
            dest="stop_tones",
            help="DTMF key that ends the recording (0-9 * # A-D); repeatable",
        )
        # The configured profile's limits, from its one table (ProfileRules); start_recording
        # holds a request to the same table before anything is sent.
        rules = get_profile(settings.GRAPH_API_PROFILE)
        for option, field in (
            ("--max-duration", "max_record_duration"),
            ("--initial-silence", "initial_silence_timeout"),
            ("--max-silence", "max_silence_timeout"),
        ):
            lowest, highest = rules.timeouts[field]
            parser.add_argument(
                option, type=int, help=f"seconds, {lowest} to {highest} on {rules.name}"
            )
        parser.add_argument("--no-beep", action="store_true")
        parser.add_argument("--barge-in", action="store_true")
        parser.add_argument("--client-context", default="")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait for the final status and print it on the last line",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            help="seconds to wait with --wait (default: the longest the "
            "recording can take, plus a margin)",
        )

    def handle(self, *args, **options) -> None:
        call = Call.objects.with_graph_id(options["call_id"]).first()
        if call is None:
            raise CommandError(
                f"Recorder knows no call {options['call_id']!r}. Calls appear once Graph "
                "notifies Recorder of them; check the id in the admin's call list."
            )
        spec = RecordSpec(
            prompts=tuple(parse_prompt(p) for p in options["prompt"]),
            barge_in_allowed=True if options["barge_in"] else None,
            play_beep=False if options["no_beep"] else None,
            initial_silence_timeout=options["initial_silence"],
            max_silence_timeout=options["max_silence"],
            max_record_duration=options["max_duration"],
            stop_tones=tuple(options["stop_tones"]),
            client_context=options["client_context"],
        )
        try:
            operation = recording_services.start_recording(call=call, spec=spec)
        except service_errors.RecordingRefused as err:
            raise CommandError(
                "The recording was not sent: "
                + " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in err.errors.items())
            ) from err
        except service_errors.GraphActionFailed as err:
            raise CommandError(err.message) from err
        self.stdout.write(operation.graph_id)
        if options["wait"]:
            self._wait(operation, options["timeout"])

    def _wait(self, operation: RecordOperation, timeout: float | None) -> None:
        if timeout is None:
            left = operation_services.overdue_after(operation) - timezone.now()
            timeout = max(left.total_seconds(), 1.0)
        deadline = time.monotonic() + timeout
        while not operation.is_final and time.monotonic() < deadline:
            time.sleep(0.2)
            operation.refresh_from_db()
        if not operation.is_final:
            # A lost notification: Graph's own answer to "how did it end?" settles it.
            operation_services.reconcile_operation(operation=operation)
        if not operation.is_final:
            raise CommandError(
                f"{operation.graph_id} is still {operation.status}: no word from Graph yet. "
                "Check it later in the admin, or run `manage.py reconcile`."
            )
        # The reason in the admin's words ("The caller hung up"), then raw values, last, for
        # scripts: "completed stopToneDetected", the reason the admin shows.
        reason = reason_key(operation.completion_reason, operation.recorder_reason)
        self.stdout.write(reason_label(reason))
        self.stdout.write(f"{operation.status} {reason or 'noReason'}")
