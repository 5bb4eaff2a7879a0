"""GraphClient: the calling actions Recorder takes, on either profile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from recordings.graph.errors import GraphError, GraphResponseError
from recordings.graph.http import ExchangeLog, GraphResponse, GraphSession, TokenProvider
from recordings.graph.operations import (
    ParsedCall,
    ParsedOperation,
    PayloadError,
    parse_call,
    parse_operation,
)
from recordings.graph.profiles import (
    ProfileRules,
    PromptSpec,
    get_profile,
    prompt_body,
)

SERVICE_HOSTED_MEDIA = {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}

Parsed = TypeVar("Parsed")

# The exchange log's name for the bot's DELETE of a call: Recorder reads it back to know
# it ended a call itself.
HANG_UP_ACTION = "hang up"


class UnsafeSegment(GraphError):
    """An id that would not stay in its URL path segment (empty, `.` or `..`): nothing is
    sent, since the request would reach another resource of Graph's than the one meant."""

    @property
    def operator_message(self) -> str:
        return (
            f"Recorder sent nothing to Graph: {self.message}. Graph never gives out such "
            "an id: report it."
        )


def segment(value: str) -> str:
    """`value` as one URL path segment: every character quoted (a `/` too), and the dot
    segments, which a server would resolve against the path, refused."""
    _refuse_dot_segment(value)
    return quote(value, safe="")


def _refuse_dot_segment(value: str) -> None:
    if value in ("", ".", ".."):
        raise UnsafeSegment(f"the id {value!r} can't be a path segment of a Graph URL")


@dataclass(frozen=True)
class RecordResult:
    operation: ParsedOperation
    # Graph's answer as it came (JSON), for the record request's own log.
    body: Any
    request_id: str
    client_request_id: str
    # v1.0 answers with the operation's URL in Location; beta-record does not.
    location: str


class GraphClient:
    def __init__(
        self,
        base_url: str,
        profile: ProfileRules | str,
        tokens: TokenProvider,
        session: GraphSession,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = get_profile(profile)
        self.tokens = tokens
        self.session = session

    def record(
        self, call_id: str, body: dict[str, Any], *, log: ExchangeLog | None = None
    ) -> RecordResult:
        """Send the profile's record action with `body` exactly as given: the caller builds
        it once (build_record_body, after validate_record_spec) and keeps what was sent."""
        # The profile quotes the id into its own path.
        _refuse_dot_segment(call_id)
        response = self._send(
            "POST", self.profile.record_path(call_id), action="record", json=body, log=log
        )
        data = response.json()
        operation = self._parse(response, data, parse_operation)
        if not operation.id:
            raise GraphResponseError(
                "Graph accepted the record action but its answer names no operation",
                status=response.status,
                request_id=response.request_id,
                client_request_id=response.client_request_id,
            )
        return RecordResult(
            operation=operation,
            body=data,
            request_id=response.request_id,
            client_request_id=response.client_request_id,
            location=response.headers.get("Location", ""),
        )

    def cancel_media_processing(
        self, call_id: str, client_context: str, *, log: ExchangeLog | None = None
    ) -> ParsedOperation:
        """Cancel the call's running and queued media operations. The record operation ends
        later, by its failed/operationCanceled notification."""
        body = {"clientContext": client_context} if client_context else {}
        response = self._send(
            "POST",
            f"{self._call_path(call_id)}/cancelMediaProcessing",
            action="cancelMediaProcessing",
            json=body,
            log=log,
        )
        return self._parse(response, response.json(), parse_operation)

    def get_call(self, call_id: str, *, log: ExchangeLog | None = None) -> ParsedCall:
        response = self._send("GET", self._call_path(call_id), action="get call", log=log)
        return self._parse(response, response.json(), parse_call)

    def answer_call(
        self, call_id: str, callback_uri: str, *, log: ExchangeLog | None = None
    ) -> None:
        body = {
            "callbackUri": callback_uri,
            "mediaConfig": SERVICE_HOSTED_MEDIA,
            "acceptedModalities": ["audio"],
        }
        self._send(
            "POST", f"{self._call_path(call_id)}/answer", action="answer", json=body, log=log
        )

    def reject_call(
        self, call_id: str, reason: str, callback_uri: str = "", *, log: ExchangeLog | None = None
    ) -> None:
        """Decline an incoming call (reason: none, busy or forbidden). Graph answers 202; the
        call's terminated notification follows."""
        body = {"reason": reason}
        if callback_uri:
            body["callbackUri"] = callback_uri
        self._send(
            "POST", f"{self._call_path(call_id)}/reject", action="reject", json=body, log=log
        )

    def play_prompt(
        self,
        call_id: str,
        prompts: list[PromptSpec],
        client_context: str,
        *,
        log: ExchangeLog | None = None,
    ) -> ParsedOperation:
        """Play prompts to the caller, recording nothing. Graph answers with a running
        playPromptOperation; it completes as a deleted notification (200/0)."""
        body = {"prompts": [prompt_body(p) for p in prompts], "clientContext": client_context}
        response = self._send(
            "POST",
            f"{self._call_path(call_id)}/playPrompt",
            action="playPrompt",
            json=body,
            log=log,
        )
        return self._operation(response)

    def subscribe_to_tone(
        self, call_id: str, client_context: str, *, log: ExchangeLog | None = None
    ) -> ParsedOperation:
        """Ask Graph for the keys the caller presses: each then comes as an updated call
        notification with toneInfo. Graph answers with a completed subscribeToToneOperation."""
        response = self._send(
            "POST",
            f"{self._call_path(call_id)}/subscribeToTone",
            action="subscribeToTone",
            json={"clientContext": client_context},
            log=log,
        )
        return self._operation(response)

    def keep_alive(self, call_id: str, *, log: ExchangeLog | None = None) -> None:
        """Tell Graph the bot still wants the call: without one for 45 minutes Graph ends it
        (408/8537). No body; Graph answers 200."""
        self._send("POST", f"{self._call_path(call_id)}/keepAlive", action="keepAlive", log=log)

    def delete_call(self, call_id: str, *, log: ExchangeLog | None = None) -> None:
        self._send("DELETE", self._call_path(call_id), action=HANG_UP_ACTION, log=log)

    def get_operation(
        self, call_id: str, operation_id: str, *, log: ExchangeLog | None = None
    ) -> ParsedOperation:
        path = f"{self._call_path(call_id)}/operations/{segment(operation_id)}"
        response = self._send("GET", path, action="get operation", log=log)
        return self._parse(response, response.json(), parse_operation)

    def _operation(self, response: GraphResponse) -> ParsedOperation:
        operation = self._parse(response, response.json(), parse_operation)
        if not operation.id:
            raise GraphResponseError(
                "Graph accepted the action but its answer names no operation",
                status=response.status,
                request_id=response.request_id,
                client_request_id=response.client_request_id,
            )
        return operation

    def _call_path(self, call_id: str) -> str:
        # Both profiles: only the record action itself differs between them.
        return f"/communications/calls/{segment(call_id)}"

    def _send(self, method: str, path: str, **kwargs: Any) -> GraphResponse:
        return self.session.send(method, self.base_url + path, token=self.tokens, **kwargs)

    def _parse(self, response: GraphResponse, data: Any, parse: Callable[[Any], Parsed]) -> Parsed:
        try:
            return parse(data)
        except PayloadError as err:
            raise GraphResponseError(
                str(err),
                status=response.status,
                request_id=response.request_id,
                client_request_id=response.client_request_id,
            ) from err
