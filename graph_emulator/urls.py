"""Routes under /emulator/, grouped by surface as the views are (see docs/internals.md and
README.md in this package)."""

from django.urls import path, re_path

from graph_emulator.models import Operation
from graph_emulator.views import azure_ad, control, graph, media

app_name = "graph_emulator"

VERSION = r"(?P<version>beta|v1\.0)"
CALL = r"(?P<call_id>[^/]+)"


def _call_routes(prefix: str, name_prefix: str) -> list:
    base = rf"^{prefix}/{CALL}"
    return [
        re_path(rf"{base}$", graph.call_detail, name=f"{name_prefix}call"),
        re_path(rf"{base}/answer$", graph.answer, name=f"{name_prefix}call-answer"),
        re_path(rf"{base}/keepAlive$", graph.keep_alive, name=f"{name_prefix}call-keep-alive"),
        re_path(rf"{base}/reject$", graph.reject, name=f"{name_prefix}call-reject"),
        re_path(
            rf"{base}/subscribeToTone$",
            graph.subscribe_to_tone,
            name=f"{name_prefix}call-subscribe-to-tone",
        ),
        re_path(rf"{base}/playPrompt$", graph.play_prompt, name=f"{name_prefix}call-play-prompt"),
        re_path(
            rf"{base}/cancelMediaProcessing$",
            graph.cancel_media_processing,
            name=f"{name_prefix}call-cancel-media-processing",
        ),
        re_path(
            rf"{base}/operations/(?P<operation_id>[^/]+)$",
            graph.operation_detail,
            name=f"{name_prefix}call-operation",
        ),
    ]


urlpatterns = [
    # Azure AD and the notification keys
    path("<str:tenant>/oauth2/v2.0/token", azure_ad.token, name="token"),
    path(
        ".well-known/OpenIdConfiguration",
        azure_ad.openid_configuration,
        name="openid-configuration",
    ),
    path("keys", azure_ad.keys, name="keys"),
    # Media Graph can fetch, and the recordings it keeps for a while
    path("media/beep.wav", media.media_beep, name="media-beep"),
    path("media/tone-<int:ms>.wav", media.media_tone, name="media-tone"),
    path("recordings/<str:operation_id>", media.recording, name="recording"),
    # The emulator's own controls (no Graph token)
    path("control/faults", control.control_faults, name="control-faults"),
    path("control/calls", control.control_calls, name="control-calls"),
    path("control/deliveries", control.control_deliveries, name="control-deliveries"),
    path("control/recordings", control.control_recordings, name="control-recordings"),
    # Graph: the record action of each profile
    re_path(rf"^(?P<version>beta)/app/calls/{CALL}/record$", graph.record, name="beta-record"),
    re_path(
        rf"^(?P<version>beta)/applications/(?P<app_id>[^/]+)/calls/{CALL}/record$",
        graph.record,
        name="beta-application-record",
    ),
    re_path(
        rf"^(?P<version>v1\.0)/communications/calls/{CALL}/recordResponse$",
        graph.record,
        name="record-response",
    ),
    # The current beta has recordResponse too, in v1.0's shape.
    re_path(
        rf"^(?P<version>beta)/communications/calls/{CALL}/recordResponse$",
        graph.record,
        {"profile": Operation.Profile.V1},
        name="beta-record-response",
    ),
    # Graph: the call and its operations, both versions; beta also under its old /app/calls
    *_call_routes(rf"{VERSION}/communications/calls", ""),
    *_call_routes(r"(?P<version>beta)/app/calls", "app-"),
    re_path(rf"^{VERSION}/(?P<rest>.*)$", graph.unknown_segment, name="unknown-segment"),
]
