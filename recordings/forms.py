"""The operator's forms: the Record page (the request and its ordered prompts) and prompt
uploads. They turn what the operator entered into a RecordSpec; the limits are the profile's
(recordings.graph.profiles), checked by validate_record_spec, never restated here."""

import re

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from recordings.audio import NotWav, inspect_wav, prompt_problems
from recordings.graph import PromptSpec, RecordSpec, validate_record_spec
from recordings.graph.profiles import (
    CLIENT_CONTEXT_MAX,
    STOP_TONES,
    ProfileRules,
    prompt_count_problem,
    prompt_spec_problems,
    settings_problems,
)
from recordings.models import Prompt, PromptAudio
from recordings.prompt_files import public_url

# Graph's default for each of the three timeouts, on both profiles (graph-contract.md).
GRAPH_DEFAULT_SECONDS = 5
# What the Record page starts with: room for a voice message (capped by the profile's
# limit), and Graph's own 5 s for the silences.
SUGGESTED_SECONDS = {
    "initial_silence_timeout": 5,
    "max_silence_timeout": 5,
    "max_record_duration": 60,
}
# The stop tones laid out as a DTMF keypad, row by row.
KEYPAD = ("1", "2", "3", "A", "4", "5", "6", "B", "7", "8", "9", "C", "*", "0", "#", "D")
assert frozenset(KEYPAD) == STOP_TONES

TIMEOUT_HELP = {
    "initial_silence_timeout": "Silence allowed before the caller starts, counted from the end "
    "of the prompts and the beep.",
    "max_silence_timeout": "Pause allowed once the caller has started.",
    "max_record_duration": "The longest the recording may last.",
}


class RecordForm(forms.Form):
    """The record action's settings. Every field shown is sent as shown; a blank timeout is
    not sent, so Graph applies its default."""

    play_beep = forms.BooleanField(
        required=False, initial=True, label="Play a beep", help_text="After the prompts."
    )
    barge_in_allowed = forms.BooleanField(
        required=False,
        initial=False,
        label="Allow barge-in",
        help_text="The caller speaking or pressing a key cuts the prompts short.",
    )
    stream_while_recording = forms.BooleanField(
        required=False,
        initial=False,
        label="Stream while recording",
        help_text="Graph gives the recording's location as soon as recording starts.",
    )
    initial_silence_timeout = forms.IntegerField(
        required=False, initial=GRAPH_DEFAULT_SECONDS, label="Initial silence timeout"
    )
    max_silence_timeout = forms.IntegerField(
        required=False, initial=GRAPH_DEFAULT_SECONDS, label="Maximum silence timeout"
    )
    max_record_duration = forms.IntegerField(
        required=False, initial=GRAPH_DEFAULT_SECONDS, label="Maximum record duration"
    )
    stop_tones = forms.MultipleChoiceField(
        required=False,
        choices=[(key, key) for key in KEYPAD],
        widget=forms.CheckboxSelectMultiple,
        help_text="Keys that end the recording when the caller presses one.",
    )
    client_context = forms.CharField(
        required=False,
        label="Client context",
        widget=forms.TextInput(attrs={"maxlength": CLIENT_CONTEXT_MAX, "class": "vTextField"}),
        help_text="Echoed on the operation and its notifications. Left blank, Recorder "
        "generates one.",
    )

    def __init__(self, *args, rules: ProfileRules, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = rules
        for name in ("stream_while_recording",):
            if name not in rules.extra_fields:
                del self.fields[name]
        for name, (lowest, highest) in rules.timeouts.items():
            field = self.fields[name]
            field.initial = max(lowest, min(SUGGESTED_SECONDS[name], highest))
            field.widget.attrs.update({"min": lowest, "max": highest, "class": "vIntegerField"})
            field.help_text = (
                f"{TIMEOUT_HELP[name]} {lowest} to {highest} seconds on the {rules.name} "
                f"profile; blank sends none, and Graph uses {GRAPH_DEFAULT_SECONDS}."
            )

    @property
    def fieldsets(self) -> list[tuple[str, dict]]:
        switches = tuple(
            name
            for name in ("play_beep", "barge_in_allowed", "stream_while_recording")
            if name in self.fields
        )
        return [
            (
                "Recording",
                {"fields": [switches, *self.rules.timeouts, "stop_tones", "client_context"]},
            ),
        ]

    def record_spec(self, prompts: list[PromptSpec]) -> RecordSpec:
        """The spec of what was entered; a field that failed its own check is left unset,
        so the profile's limits can still be checked on the others."""
        data = self.cleaned_data
        return RecordSpec(
            prompts=tuple(prompts),
            play_beep=data.get("play_beep"),
            barge_in_allowed=data.get("barge_in_allowed"),
            stream_while_recording=data.get("stream_while_recording"),
            initial_silence_timeout=data.get("initial_silence_timeout"),
            max_silence_timeout=data.get("max_silence_timeout"),
            max_record_duration=data.get("max_record_duration"),
            stop_tones=tuple(key for key in KEYPAD if key in data.get("stop_tones", ())),
            client_context=data.get("client_context", "").strip(),
        )


class LibraryPromptField(forms.ModelChoiceField):
    def label_from_instance(self, obj: PromptAudio) -> str:
        return f"{obj.name} ({obj.duration_ms / 1000:.1f} s)"


class PromptForm(forms.Form):
    """One row of the prompt list: a media prompt (an uploaded one, or any URI) or silence."""

    kind = forms.ChoiceField(choices=Prompt.Kind.choices, widget=forms.HiddenInput)
    library_prompt = LibraryPromptField(
        queryset=PromptAudio.objects.all(),
        required=False,
        label="Uploaded prompt",
        empty_label="Pick an uploaded prompt…",
    )
    uri = forms.URLField(
        required=False,
        label="URI",
        max_length=2048,
        widget=forms.URLInput(attrs={"placeholder": "or type a URI: https://…/prompt.wav"}),
    )
    loop = forms.IntegerField(
        required=False,
        label="Plays",
        min_value=1,
        widget=forms.NumberInput(attrs={"placeholder": "1", "class": "vIntegerField"}),
        error_messages={"min_value": "Play it at least once."},
    )
    duration_ms = forms.IntegerField(
        required=False,
        label="Milliseconds",
        widget=forms.NumberInput(attrs={"min": 1, "class": "vIntegerField"}),
    )

    def __init__(self, *args, rules: ProfileRules, library=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = rules
        self.fields["kind"].choices = [
            choice for choice in Prompt.Kind.choices if choice[0] in rules.prompt_kinds
        ]
        if library is not None:
            self.fields["library_prompt"].queryset = library
        # The browser's own bounds, from the profile's table; validate_record_spec enforces it.
        self.fields["duration_ms"].widget.attrs["max"] = rules.silence_max_ms
        if not rules.loop_allowed:
            del self.fields["loop"]
        else:
            self.fields["loop"].widget.attrs.update({"min": 1, "max": rules.max_loop})

    @property
    def row_kind(self) -> str:
        return self["kind"].value() or Prompt.Kind.MEDIA

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Prompt.Kind.MEDIA:
            chosen, uri = data.get("library_prompt"), data.get("uri")
            if chosen and uri:
                self.add_error("uri", "Pick an uploaded prompt or type a URI, not both.")
            elif not chosen and not uri and "uri" not in self.errors:
                self.add_error("uri", "Pick an uploaded prompt or type the URI of a WAV file.")
        elif (
            kind == Prompt.Kind.SILENCE
            and data.get("duration_ms") is None
            and "duration_ms" not in self.errors
        ):
            self.add_error("duration_ms", "Give the silence a length in milliseconds.")
        if not self.errors:
            self._check_against_profile()
        return data

    def _check_against_profile(self) -> None:
        """The profile's limits on this row (validate_record_spec's), each on its field."""
        chosen = self.cleaned_data.get("library_prompt")
        where = {
            "uri": "library_prompt" if chosen else "uri",
            "loop": "loop",
            "duration_ms": "duration_ms",
        }
        for field, messages in prompt_spec_problems(self.prompt_spec(), self.rules).items():
            target = where.get(field)
            for message in messages:
                self.add_error(target if target in self.fields else None, message)

    def prompt_spec(self) -> PromptSpec:
        data = self.cleaned_data
        if data["kind"] == Prompt.Kind.SILENCE:
            return PromptSpec(kind="silence", duration_ms=data["duration_ms"])
        chosen = data.get("library_prompt")
        return PromptSpec(
            kind="media",
            uri=public_url(chosen) if chosen else data["uri"],
            loop=data.get("loop"),
        )


class BasePromptFormSet(forms.BaseFormSet):
    ordering_widget = forms.HiddenInput

    def __init__(self, *args, rules: ProfileRules, **kwargs):
        self.rules = rules
        # One query for the library, shared by every row's choice list.
        library = PromptAudio.objects.all()
        kwargs["form_kwargs"] = {"rules": rules, "library": library}
        kwargs.setdefault("prefix", "prompts")
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is not None:
            # Every row the operator added is a prompt: an incomplete one is an error to
            # show, not a row to drop silently.
            kwargs["empty_permitted"] = False
        return kwargs

    def rows_in_order(self) -> list[PromptForm]:
        """The rows in the order the operator left them (their ORDER), to show them again."""

        def position(item: tuple[int, PromptForm]) -> tuple[int, int]:
            index, form = item
            try:
                return int(form["ORDER"].value()), index
            except (TypeError, ValueError):
                return len(self.forms) + 1, index

        return [form for _, form in sorted(enumerate(self.forms), key=position)]

    def prompt_specs(self) -> list[PromptSpec]:
        return [form.prompt_spec() for form in self.ordered_forms]


PromptFormSet = forms.formset_factory(
    PromptForm, formset=BasePromptFormSet, extra=0, can_order=True, can_delete=True
)


def record_spec_from(form: RecordForm, formset: BasePromptFormSet) -> RecordSpec | None:
    """The spec the operator asked for, or None with every problem shown where it belongs.

    Each row is checked against the profile on its own (PromptForm), the settings are
    checked against it whatever the rows hold, and the number of prompts whatever each
    holds: one submit shows everything that is wrong. The whole spec then goes through
    validate_record_spec, the same check start_recording makes.
    """
    prompts_valid = formset.is_valid()
    settings_valid = form.is_valid()
    if not (prompts_valid and settings_valid):
        partial = form.record_spec([])
        problems = settings_problems(partial, form.rules)
        kept = [row for row in formset.forms if not row.cleaned_data.get("DELETE")]
        too_many = prompt_count_problem(len(kept), form.rules)
        if too_many:
            problems["prompts"] = [too_many]
        show_refusal(form, formset, problems)
        return None
    spec = form.record_spec(formset.prompt_specs())
    errors = validate_record_spec(spec, form.rules)
    show_refusal(form, formset, errors)
    return None if errors else spec


def show_refusal(form: RecordForm, formset: BasePromptFormSet, errors: dict[str, list[str]]):
    """Put RecordingRefused-style errors (RecordSpec field -> sentences) on the forms."""
    for field, messages in errors.items():
        for message in messages:
            if field == "prompts":
                formset.non_form_errors().append(message)
            elif field in form.fields:
                if field not in form.errors:
                    form.add_error(field, message)
            else:
                form.add_error(None, message)


_GRAPH_PROMPT_INDEX = re.compile(r"\bprompts\[(\d+)\](?:\.([\w.]*\w))?")


def numbered_from_one(text: str) -> str:
    """Graph's words with its prompt numbers (from 0: "prompts[0].duration") made the Record
    page's (from 1: "prompt 1's duration"), so a refusal names the row the operator sees."""

    def renumber(match: re.Match) -> str:
        number, path = int(match.group(1)) + 1, match.group(2)
        return f"prompt {number}'s {path}" if path else f"prompt {number}"

    return _GRAPH_PROMPT_INDEX.sub(renumber, text)


def mebibytes(size: int) -> str:
    """A byte count as operators read it: "10 MiB", "300.5 MiB"."""
    return f"{size / 2**20:,.1f}".removesuffix(".0") + " MiB"


def prompt_too_large(size: int) -> str | None:
    """Why an upload of `size` bytes can't be a prompt (PROMPT_MAX_BYTES), or None."""
    limit = settings.PROMPT_MAX_BYTES
    if size <= limit:
        return None
    return (
        f"The file is {mebibytes(size)}, and a prompt may be at most {mebibytes(limit)}: "
        "shorten it (a minute of 16-bit mono 16 kHz audio is under 2 MiB)."
    )


class PromptAudioForm(forms.ModelForm):
    """An upload for the prompt library: refused unless Graph can play it as it is."""

    class Meta:
        model = PromptAudio
        fields = ["name", "file"]
        help_texts = {
            "name": "How operators find it on the Record page.",
            "file": "A WAV file: 16-bit PCM, mono, 16 kHz (what Graph plays).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text += f" At most {mebibytes(settings.PROMPT_MAX_BYTES)}."

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not isinstance(upload, UploadedFile):
            return upload  # the file already stored, kept on an edit of the name
        too_large = prompt_too_large(upload.size)
        if too_large:
            raise forms.ValidationError(too_large)
        try:
            # A prompt must be a finished file: no streaming placeholder for its length.
            info = inspect_wav(upload, allow_streaming_placeholder=False)
        except NotWav as err:
            raise forms.ValidationError(
                f"{err} Export it as a 16-bit PCM, mono, 16 kHz WAV."
            ) from err
        problems = prompt_problems(info)
        if problems:
            raise forms.ValidationError(
                f"The file is a {info.describe()} WAV, but Graph plays only 16-bit PCM, mono, "
                f"16 kHz: {'; '.join(problems)}. Convert it, e.g. with "
                "ffmpeg -i in.wav -ac 1 -ar 16000 -sample_fmt s16 out.wav"
            )
        self.instance.duration_ms = info.duration_ms
        self.instance.size_bytes = upload.size
        return upload
