"""Microsoft's Graph SDK (msgraph-sdk) drives the emulator over real HTTP, and its models read
the emulator's notifications: if the SDK can speak to it, the emulator has Graph's shapes.

The SDK is async; the test runs each step on one event loop of its own. It authenticates with
a token provider that fetches app tokens from the emulator's Azure AD token endpoint (client
credentials).
"""

import asyncio
import json

import httpx
import pytest
from django.conf import settings
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.communications.calls.item.answer.answer_post_request_body import (
    AnswerPostRequestBody,
)
from msgraph.generated.communications.calls.item.cancel_media_processing.cancel_media_processing_post_request_body import (  # noqa: E501
    CancelMediaProcessingPostRequestBody,
)
from msgraph.generated.communications.calls.item.play_prompt.play_prompt_post_request_body import (
    PlayPromptPostRequestBody,
)
from msgraph.generated.communications.calls.item.record_response.record_response_post_request_body import (  # noqa: E501
    RecordResponsePostRequestBody,
)
from msgraph.generated.communications.calls.item.reject.reject_post_request_body import (
    RejectPostRequestBody,
)
from msgraph.generated.communications.calls.item.subscribe_to_tone.subscribe_to_tone_post_request_body import (  # noqa: E501
    SubscribeToTonePostRequestBody,
)
from msgraph.generated.models.call import Call as GraphCall
from msgraph.generated.models.call_state import CallState
from msgraph.generated.models.comms_operation import CommsOperation
from msgraph.generated.models.media_info import MediaInfo
from msgraph.generated.models.media_prompt import MediaPrompt
from msgraph.generated.models.modality import Modality
from msgraph.generated.models.operation_status import OperationStatus
from msgraph.generated.models.play_prompt_operation import PlayPromptOperation
from msgraph.generated.models.record_operation import RecordOperation
from msgraph.generated.models.reject_reason import RejectReason
from msgraph.generated.models.service_hosted_media_config import ServiceHostedMediaConfig
from msgraph.generated.models.subscribe_to_tone_operation import SubscribeToToneOperation
from msgraph.generated.models.tone import Tone
from msgraph.graph_request_adapter import options as adapter_options
from msgraph_core import GraphClientFactory

from graph_emulator import audio, services
from tests.support.emulator import states

pytestmark = pytest.mark.e2e


class EmulatorTokens(AccessTokenProvider):
    """App tokens from the emulator's Azure AD token endpoint, like a client-credentials
    credential would get from login.microsoftonline.com."""

    def __init__(self, authority: str) -> None:
        self.token_url = f"{authority}/{settings.EMULATOR_TENANT_ID}/oauth2/v2.0/token"

    async def get_authorization_token(self, uri: str, additional_authentication_context=None):
        async with httpx.AsyncClient() as http:
            response = await http.post(
                self.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": settings.EMULATOR_CLIENT_ID,
                    "client_secret": settings.EMULATOR_CLIENT_SECRET,
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
        response.raise_for_status()
        return response.json()["access_token"]

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])  # the emulator's loopback host


@pytest.fixture
def sdk(live_server):
    """The SDK's client against the emulator, and `run` for its coroutines: one loop for the
    whole test, since the SDK's HTTP client belongs to the loop it first ran on. Its
    connections are closed at the end: a kept-alive one would hold a live-server thread, and
    that thread's database connection, until the process exits. The SDK's own transport
    does not pass a close on to the connection pool it wraps, so the pool is closed here."""
    pool = httpx.AsyncHTTPTransport()
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=pool), options=adapter_options
    )
    auth = BaseBearerTokenAuthenticationProvider(EmulatorTokens(f"{live_server.url}/emulator"))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{live_server.url}/emulator/v1.0"
    loop = asyncio.new_event_loop()
    try:
        yield GraphServiceClient(request_adapter=adapter), loop.run_until_complete
    finally:
        loop.run_until_complete(pool.aclose())
        loop.close()


def parse(resource_data: dict):
    """A notification's resourceData, read with the SDK's own models (the SDK has none for the
    commsNotifications envelope, so the envelope is read here)."""
    node = JsonParseNodeFactory().get_root_parse_node(
        "application/json", json.dumps(resource_data).encode()
    )
    model = GraphCall if resource_data["@odata.type"] == "#microsoft.graph.call" else CommsOperation
    return node.get_object_value(model)


def ring(receiver, script: str) -> str:
    call = services.place_call(script=script, callback_url=receiver.url)
    services.announce_call(call, wait=True)
    return call.id


def test_the_sdk_drives_a_call_and_reads_every_notification(sdk, emulator, receiver, settings):
    # The SDK's first request (its token, its middleware) takes longer than 15 emulated seconds.
    settings.GRAPH_EMULATOR_ANSWER_TIMEOUT = 10 / settings.GRAPH_EMULATOR_TIME_SCALE
    receiver.files["/tone-300.wav"] = audio.tone_wav(300)
    prompt = MediaPrompt(media_info=MediaInfo(uri=f"{receiver.base}/tone-300.wav"))
    client, run = sdk
    call_id = ring(receiver, "speak 0.5; press 1#; speak 1")
    calls = client.communications.calls

    run(
        calls.by_call_id(call_id).answer.post(
            AnswerPostRequestBody(
                callback_uri=receiver.url,
                media_config=ServiceHostedMediaConfig(),
                accepted_modalities=[Modality.Audio],
            )
        )
    )
    receiver.wait_for(lambda ns: "established" in states(ns))
    this = calls.by_call_id(call_id)

    subscribed = run(
        this.subscribe_to_tone.post(SubscribeToTonePostRequestBody(client_context="t"))
    )
    assert isinstance(subscribed, SubscribeToToneOperation)
    assert subscribed.status == OperationStatus.Completed
    run(this.keep_alive.post())

    played = run(this.play_prompt.post(PlayPromptPostRequestBody(prompts=[prompt])))
    assert isinstance(played, PlayPromptOperation)
    assert played.status == OperationStatus.Running
    recording = run(
        this.record_response.post(
            RecordResponsePostRequestBody(stop_tones=["#"], max_record_duration_in_seconds=30)
        )
    )
    assert isinstance(recording, RecordOperation)
    assert (recording.status, recording.recording_location) == (OperationStatus.Running, None)

    def finished(ns):
        return [
            n for n in ns if n["changeType"] == "deleted" and "/operations/" in n["resourceUrl"]
        ]

    receiver.wait_for(lambda ns: len(finished(ns)) == 2)
    waiting = run(
        this.record_response.post(
            RecordResponsePostRequestBody(
                max_record_duration_in_seconds=120,
                initial_silence_timeout_in_seconds=120,
                max_silence_timeout_in_seconds=120,
            )
        )
    )
    cancel = run(
        this.cancel_media_processing.post(CancelMediaProcessingPostRequestBody(client_context="x"))
    )
    assert cancel.status == OperationStatus.Completed
    receiver.wait_for(lambda ns: len(finished(ns)) == 3)
    run(this.delete())
    receiver.wait_for(lambda ns: "terminated" in states(ns))

    rejected_id = ring(receiver, "speak 1")
    run(
        calls.by_call_id(rejected_id).reject.post(
            RejectPostRequestBody(reason=RejectReason.Busy, callback_uri=receiver.url)
        )
    )
    receiver.wait_for(lambda ns: states(ns).count("terminated") == 2)

    parsed = [(n["changeType"], parse(n["resourceData"])) for n in receiver.notifications()]
    tones = [m.tone_info.tone for _, m in parsed if isinstance(m, GraphCall) and m.tone_info]
    # The caller's script replays in every record operation: the cancelled one may hear it too.
    assert tones[:2] == [Tone.Tone1, Tone.Pound]
    operations = {m.id: m for change, m in parsed if isinstance(m, CommsOperation)}
    assert isinstance(operations[played.id], PlayPromptOperation)
    assert (operations[played.id].status, operations[played.id].result_info.code) == (
        OperationStatus.Completed,
        200,
    )
    done = operations[recording.id]
    assert isinstance(done, RecordOperation)
    assert (done.status, done.result_info.subcode) == (OperationStatus.Completed, 8511)
    assert done.recording_location.endswith(f"/emulator/recordings/{recording.id}")
    assert operations[waiting.id].status == OperationStatus.Failed
    ended = [m for _, m in parsed if isinstance(m, GraphCall) and m.state == CallState.Terminated]
    assert [(m.result_info.code, m.result_info.subcode) for m in ended] == [
        (7000, 10550),
        (486, 0),
    ]
