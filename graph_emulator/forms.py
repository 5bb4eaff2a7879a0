from django import forms
from django.conf import settings

from graph_emulator.script import ScriptError, parse_script
from graph_emulator.services import DEFAULT_CALLER
from graph_emulator.transport import NotLoopback, check_loopback


class PlaceCallForm(forms.Form):
    caller = forms.CharField(
        max_length=64, initial=DEFAULT_CALLER, help_text="The caller's number."
    )
    script = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        initial="silence 1; speak 2.5; press #",
        required=False,
        help_text=(
            "What the caller does during each recording, words separated by ';': silence S, "
            "speak S, press KEYS, stall, hangup; optionally a leading 'interrupt S' to start "
            "S seconds into the prompts."
        ),
    )
    callback = forms.CharField(
        max_length=2000,
        required=False,
        help_text="Where the notifications go; blank for the configured callback URL.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["callback"].widget.attrs["placeholder"] = settings.GRAPH_EMULATOR_CALLBACK_URL

    def clean_script(self) -> str:
        script = self.cleaned_data["script"]
        try:
            parse_script(script)
        except ScriptError as err:
            raise forms.ValidationError(str(err)) from err
        return script

    def clean_callback(self) -> str:
        callback = self.cleaned_data["callback"].strip()
        if callback:
            try:
                check_loopback(callback)
            except NotLoopback as err:
                raise forms.ValidationError(f"{err}.") from err
        return callback
