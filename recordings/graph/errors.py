"""One error family for everything that can go wrong talking to Graph or Azure AD.

Callers catch `GraphError` and show `operator_message`; the subclasses let them branch on what
happened (a call that has ended, throttling, bad credentials) without reading status codes.
"""

import json
from collections.abc import Mapping

# Graph's "Call not found": the call has ended (or never existed) on Graph's side.
CALL_NOT_FOUND_CODE = "8522"


class GraphError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        request_id: str = "",
        client_request_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after
        super().__init__(message)

    def __str__(self) -> str:
        label = self._label()
        return f"{label}: {self.message}" if label else self.message

    @property
    def operator_message(self) -> str:
        return f"Graph answered with an error ({self}); try again, and report it if it repeats."

    def _label(self) -> str:
        """`429 TooManyRequests`, `404 8522`: the status and Graph's code, briefly."""
        return " ".join(str(part) for part in (self.status, self.code) if part)


class GraphNetworkError(GraphError):
    """No answer at all: DNS, refused connection, TLS, timeout, a connection cut mid-answer."""

    @property
    def operator_message(self) -> str:
        return (
            f"Recorder could not reach Graph ({self.message}); check the network and the "
            "Graph settings, then try again."
        )


class GraphAuthError(GraphError):
    """No token could be had, or Graph refused the one sent (401/403)."""

    @property
    def operator_message(self) -> str:
        if self.status == 403:
            return (
                f"Graph refused the action ({self._label()}): the app registration lacks a "
                "permission (Calls.AccessMedia.All needs admin consent)."
            )
        if self.status == 401:
            return (
                f"Graph did not accept Recorder's token ({self._label()}); check the tenant, "
                "client id and secret of the app registration."
            )
        return (
            f"Recorder could not get a token from Azure AD ({self}); check GRAPH_TENANT_ID, "
            "GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET."
        )


class GraphNotFoundError(GraphError):
    """404, or Graph's 8522 "Call not found" whatever the status."""

    @property
    def operator_message(self) -> str:
        if self.code == CALL_NOT_FOUND_CODE:
            return (
                f"Graph no longer knows this call ({self.code} {self.message}): "
                "it has probably ended."
            )
        return (
            f"Graph does not know this call or operation ({self._label()}): it has probably ended."
        )


def _when(error: GraphError, default: str = "in a minute") -> str:
    """When Graph said to come back (its Retry-After), in words."""
    if error.retry_after is None:
        return default
    seconds = max(1, round(error.retry_after))
    return f"in {seconds} s" if seconds < 120 else f"in {round(seconds / 60)} minutes"


class GraphThrottledError(GraphError):
    """Still 429 after the retries Recorder allows itself."""

    @property
    def operator_message(self) -> str:
        return f"Graph is busy (429) and asked Recorder to wait; try again {_when(self)}."


class GraphServiceError(GraphError):
    """Still 5xx after the retries: Graph's own trouble."""

    @property
    def operator_message(self) -> str:
        return (
            f"Graph had a problem of its own ({self._label()}); "
            f"try again {_when(self, 'in a few minutes')}, "
            "and check the Microsoft 365 service health if it lasts."
        )


# How Graph (and the emulator) word a refusal because the call already has a media operation
# under way: nothing in the request is wrong, so the operator is not told to correct it.
BUSY_CODES = frozenset({"operationinprogress", "mediaoperationinprogress", "busy", "conflict"})
BUSY_WORDS = ("already running", "in progress", "busy")


class GraphRequestError(GraphError):
    """Any other 4xx: Graph says the request itself is wrong (or the call is busy)."""

    @property
    def is_busy(self) -> bool:
        """Graph refused because the call is busy with another media operation."""
        text = self.message.lower()
        return self.code.lower() in BUSY_CODES or any(words in text for words in BUSY_WORDS)

    @property
    def operator_message(self) -> str:
        if self.is_busy:
            return (
                f"Graph is still busy with another recording or prompt on this call "
                f"({self._label()}: {self.message}); nothing in these settings is wrong. Wait "
                "for it to end, or cancel it from the call page, then try again."
            )
        return (
            f"Graph refused the request ({self._label()}: {self.message}); correct the "
            "settings it names and try again."
        )


class GraphResponseError(GraphError):
    """A 2xx whose body is not what the contract says (or an unexpected redirect)."""

    @property
    def operator_message(self) -> str:
        return (
            f"Graph answered in a way Recorder does not understand ({self.message}); the "
            "exchange is in the log. Try again, and report it if it repeats."
        )


def parse_error_body(body: bytes) -> tuple[str, str, str]:
    """(code, message, request id) from Graph's error body, or Azure AD's OAuth one.

    Graph: `{"error": {"code", "message", "innerError": {"request-id", ...}}}`.
    Azure AD: `{"error": "invalid_client", "error_description": "..."}`.
    Anything else (HTML from a proxy, nothing at all) gives empty strings.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return "", "", ""
    if not isinstance(data, dict):
        return "", "", ""
    error = data.get("error")
    if isinstance(error, str):
        return error, str(data.get("error_description") or ""), ""
    if not isinstance(error, dict):
        return "", "", ""
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = inner.get("request-id", "") if isinstance(inner, dict) else ""
    return str(error.get("code") or ""), str(error.get("message") or ""), str(request_id or "")


def error_from_response(
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    client_request_id: str,
    retry_after: float | None = None,
) -> GraphError:
    """The GraphError a non-2xx answer stands for, with what Graph said about it."""
    code, message, inner_request_id = parse_error_body(body)
    kwargs = {
        "status": status,
        "code": code,
        "request_id": headers.get("request-id") or inner_request_id,
        "client_request_id": client_request_id,
        "retry_after": retry_after,
    }
    message = message or f"HTTP {status} with no error message"
    if code == CALL_NOT_FOUND_CODE or status == 404:
        return GraphNotFoundError(message, **kwargs)
    if status in (401, 403):
        return GraphAuthError(message, **kwargs)
    if status == 429:
        return GraphThrottledError(message, **kwargs)
    if 500 <= status < 600:
        return GraphServiceError(message, **kwargs)
    if 400 <= status < 500:
        return GraphRequestError(message, **kwargs)
    # requests never follows a redirect for us (see http.py), so a 3xx lands here.
    return GraphResponseError(f"unexpected HTTP {status}", **kwargs)
