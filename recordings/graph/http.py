"""The one HTTP seam to Graph, Azure AD and the notification key endpoint.

Every request goes through `GraphSession.send`: one `requests.Session`, a timeout on every
attempt, a `client-request-id` per logical request (the same on its retries, so Graph's logs
tie them together), bounded retries honouring `Retry-After`, and one error family.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.cookiejar
import json as jsonlib
import logging
import math
import os
import socket
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import requests
from django.conf import settings
from urllib3.exceptions import NewConnectionError

from recordings.graph.errors import (
    GraphError,
    GraphNetworkError,
    GraphResponseError,
    error_from_response,
)
from recordings.redaction import REDACTED, SECRET_FIELDS, redact  # noqa: F401 (re-exported)

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 503, 504})
# A POST is not idempotent (a second `record` would start a second recording), so it is
# retried only where Graph cannot have acted on it, and not often.
POST_MAX_RETRIES = 2
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Without Retry-After: 0.5 s, 1 s, 2 s, ... never more than BACKOFF_MAX.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
# Exchange logs keep bodies for diagnosis, not archives.
LOGGED_BODY_LIMIT = 64 * 1024
# Graph's JSON answers are a few kilobytes, and an error's body is read only to say what went
# wrong: neither is read past these, whatever the server sends. A compressed body is inflated
# only as far as it is read (urllib3 streams it), so a small gzip bomb stays small here too.
ANSWER_MAX_BYTES = 1024 * 1024
ERROR_BODY_MAX_BYTES = 64 * 1024
READ_CHUNK_BYTES = 16 * 1024


class TokenProvider(Protocol):
    """Where `send` gets a bearer token, and how it drops one Graph refused (tokens.py)."""

    def get_token(self) -> str: ...

    def invalidate(self) -> None: ...


class ExchangeLog(Protocol):
    """Where `send` records one logical request: before it goes out, and once it is settled.

    Recorder's own is recordings.exchange_log.DatabaseExchangeLog; this package keeps to the
    protocol, so it needs no database.
    """

    def started(
        self, action: str, method: str, url: str, body: Any, client_request_id: str
    ) -> None: ...

    def finished(
        self,
        status: int | None,
        body_text: str,
        request_id: str,
        attempts: int,
        error: GraphError | None,
    ) -> None: ...


# Makes a fresh ExchangeLog for each request a long-lived object (a token provider, the key
# cache) sends: a log records one request, and those objects send many, from many threads.
ExchangeLogFactory = Callable[[], ExchangeLog]


def new_log(factory: ExchangeLogFactory | None) -> ExchangeLog | None:
    return factory() if factory is not None else None


class GraphResponse:
    """A 2xx answer. With `stream=True` the body is left unread: use `iter_bytes()`."""

    def __init__(
        self,
        *,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        client_request_id: str,
        attempts: int,
        raw: requests.Response | None = None,
    ) -> None:
        self.status = status
        # requests' headers are case-insensitive, as HTTP's are.
        self.headers = headers
        self.body = body
        self.request_id = headers.get("request-id", "")
        self.client_request_id = client_request_id
        self.attempts = attempts
        self.aborted = False
        self._raw = raw
        self._closed = False
        self._lock = threading.Lock()

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.body)
        except ValueError as err:
            raise GraphResponseError(
                f"the answer is not JSON ({err})",
                status=self.status,
                request_id=self.request_id,
                client_request_id=self.client_request_id,
            ) from err

    def iter_bytes(self, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        if self._raw is None:
            if self.body:
                yield self.body
            return
        try:
            yield from self._raw.iter_content(chunk_size)
        except requests.RequestException as err:
            raise GraphNetworkError(
                f"the answer broke off: {err}",
                status=self.status,
                request_id=self.request_id,
                client_request_id=self.client_request_id,
            ) from err
        finally:
            self.close()

    def abort(self) -> None:
        """Cut the connection now, from any thread: a read blocked on it returns at once.

        A deadline can't be kept by timeouts alone: a host that sends a byte just inside each
        read timeout never trips one. The socket is shut down through a duplicate of its
        descriptor (so whoever holds the socket, urllib3 or http.client, is left to close
        it), under the lock that close() takes, so the descriptor is still this answer's.
        """
        with self._lock:
            self.aborted = True
            if self._raw is None or self._closed:
                return
            try:
                fd = self._raw.raw.fileno()
            except (AttributeError, OSError, ValueError):
                return  # nothing open to cut
            with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as duplicate:
                duplicate.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._raw is not None:
                self._raw.close()

    def __enter__(self) -> GraphResponse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class GraphSession:
    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.requests = requests.Session()
        self.requests.headers["User-Agent"] = f"Recorder/{recorder_version()}"
        # Graph and Azure AD need no cookies, and one jar shared by every thread would carry
        # one request's cookies into another's.
        self.requests.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._sleep = sleep
        self._clock = clock

    def close(self) -> None:
        """Close the connections it keeps alive; used again, it opens new ones."""
        self.requests.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | TokenProvider | None = None,
        log: ExchangeLog | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        stream: bool = False,
    ) -> GraphResponse:
        """Send one logical request; return its 2xx answer or raise a GraphError.

        `token` is a bearer token, or a TokenProvider: then a 401 drops the cached token and
        the request is tried once more with a fresh one.
        """
        method = method.upper()
        client_request_id = str(uuid.uuid4())
        limit = max_attempts or settings.GRAPH_MAX_ATTEMPTS
        if method == "POST":
            limit = min(limit, POST_MAX_RETRIES + 1)
        timeout = settings.GRAPH_TIMEOUT if timeout is None else timeout
        if log is not None:
            sent = json if json is not None else data
            log.started(action, method, url, redact(sent), client_request_id)

        provider = None if token is None or isinstance(token, str) else token
        attempts = 0
        token_renewed = False
        try:
            while True:
                attempts += 1
                # What the log keeps is the last attempt's answer, or nothing if it got none.
                body, content_type = b"", ""
                request_headers = {**(headers or {}), "client-request-id": client_request_id}
                if token is not None:
                    bearer = provider.get_token() if provider is not None else token
                    request_headers["Authorization"] = f"Bearer {bearer}"
                try:
                    response = self.requests.request(
                        method,
                        url,
                        json=json,
                        data=data,
                        headers=request_headers,
                        timeout=timeout,
                        # Always streamed, so that no body is read past its limit below.
                        stream=True,
                        # Never follow a redirect: a recording link must not lead off-host,
                        # and Graph does not redirect API calls.
                        allow_redirects=False,
                    )
                    success = 200 <= response.status_code < 300
                    streaming = stream and success
                    oversized = False
                    if not streaming:
                        cap = ANSWER_MAX_BYTES if success else ERROR_BODY_MAX_BYTES
                        body, oversized = read_limited(response, cap)
                    content_type = response.headers.get("Content-Type", "")
                except requests.RequestException as err:
                    if attempts < limit and _may_retry_network_error(method, err):
                        delay = backoff(attempts)
                        logger.warning(
                            "%s %s: %s; retrying in %.1f s",
                            method,
                            _without_query(url),
                            err.__class__.__name__,
                            delay,
                        )
                        self._sleep(delay)
                        continue
                    raise GraphNetworkError(
                        describe_network_error(err), client_request_id=client_request_id
                    ) from err

                status = response.status_code
                if (
                    status == 401
                    and provider is not None
                    and not token_renewed
                    and attempts < limit
                ):
                    # The cached token may have been revoked or rotated before its expiry.
                    token_renewed = True
                    provider.invalidate()
                    continue
                retry_after = self.retry_after_seconds(response.headers.get("Retry-After"))
                # Retrying sooner than Graph asked would not honour it: a wait longer than
                # we are willing to block for fails now, and the error says when to retry.
                if (
                    status in RETRY_STATUSES
                    and attempts < limit
                    and (retry_after is None or retry_after <= settings.GRAPH_MAX_RETRY_AFTER)
                ):
                    delay = backoff(attempts) if retry_after is None else retry_after
                    logger.warning(
                        "%s %s: %s; retrying in %.1f s", method, _without_query(url), status, delay
                    )
                    self._sleep(delay)
                    continue
                if not 200 <= status < 300:
                    raise error_from_response(
                        status=status,
                        headers=response.headers,
                        body=body,
                        client_request_id=client_request_id,
                        retry_after=retry_after,
                    )
                if oversized:
                    raise GraphResponseError(
                        f"the answer is larger than {ANSWER_MAX_BYTES} bytes; Graph's are small",
                        status=status,
                        request_id=response.headers.get("request-id", ""),
                        client_request_id=client_request_id,
                    )
                answer = GraphResponse(
                    status=status,
                    headers=response.headers,
                    body=body,
                    client_request_id=client_request_id,
                    attempts=attempts,
                    raw=response if streaming else None,
                )
                break
        except GraphError as err:
            if log is not None:
                text = body_text(body, content_type)
                log.finished(err.status, text, err.request_id, attempts, err)
            raise
        if log is not None:
            text = body_text(body, content_type)
            log.finished(status, text, answer.request_id, attempts, None)
        return answer

    def request_once(
        self, method: str, url: str, *, action: str, log: ExchangeLog | None = None, **kwargs: Any
    ) -> requests.Response:
        """One attempt with the session's timeout and no redirects, for a library (MSAL)
        that brings its own retries and reads the answer itself. Logged like send()."""
        kwargs.setdefault("timeout", settings.GRAPH_TIMEOUT)
        kwargs["allow_redirects"] = False
        client_request_id = str(uuid.uuid4())
        kwargs["headers"] = {
            **(kwargs.get("headers") or {}),
            "client-request-id": client_request_id,
        }
        if log is not None:
            log.started(action, method.upper(), url, redact(kwargs.get("data")), client_request_id)
        try:
            response = self.requests.request(method, url, stream=True, **kwargs)
            body, _ = read_limited(
                response, ANSWER_MAX_BYTES if response.ok else ERROR_BODY_MAX_BYTES
            )
            # The library reads the answer from the response itself: hand it what was read.
            response._content = body
        except requests.RequestException as err:
            error = GraphNetworkError(
                describe_network_error(err), client_request_id=client_request_id
            )
            if log is not None:
                log.finished(None, "", "", 1, error)
            raise error from err
        if log is not None:
            content_type = response.headers.get("Content-Type", "")
            log.finished(
                response.status_code,
                body_text(body, content_type),
                response.headers.get("request-id", ""),
                1,
                None,
            )
        return response

    def retry_after_seconds(self, value: str | None) -> float | None:
        """Retry-After as seconds: Graph sends a number (maybe fractional); HTTP allows a date."""
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            seconds = when.timestamp() - self._clock()
        if not math.isfinite(seconds):
            return None
        return max(seconds, 0.0)


def _without_query(url: str) -> str:
    # A recording link may carry a credential in its query; the application log never does.
    return url.split("?", 1)[0]


def read_limited(response: requests.Response, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of an answer's body (inflated, if it came compressed), and
    whether there was more. The connection is closed after: what is left is never read."""
    chunks: list[bytes] = []
    size = 0
    more = False
    try:
        for chunk in response.iter_content(READ_CHUNK_BYTES):
            if size + len(chunk) > limit:
                chunks.append(chunk[: limit - size])
                more = True
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        response.close()
    return b"".join(chunks), more


def backoff(attempt: int) -> float:
    return min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_MAX)


def _may_retry_network_error(method: str, err: requests.RequestException) -> bool:
    return method in IDEMPOTENT_METHODS or never_connected(err)


def never_connected(err: requests.RequestException) -> bool:
    """True when the request cannot have reached the server: the connection never opened."""
    if isinstance(err, requests.ConnectTimeout):
        return True
    if isinstance(err, requests.ConnectionError) and err.args:
        # requests wraps urllib3's MaxRetryError, whose reason says what failed.
        return isinstance(getattr(err.args[0], "reason", None), NewConnectionError)
    return False


def describe_network_error(err: requests.RequestException) -> str:
    if isinstance(err, requests.ConnectTimeout):
        return "the connection timed out"
    if isinstance(err, requests.Timeout):
        return "no answer before the timeout"
    if isinstance(err, requests.exceptions.SSLError):
        return f"TLS failed: {err}"
    if never_connected(err):
        return f"could not connect: {err}"
    return f"{err.__class__.__name__}: {err}"


def body_text(body: bytes, content_type: str = "") -> str:
    """An answer body as an exchange log keeps it: credentials out, bounded in size."""
    if not body:
        return ""
    if content_type and not any(kind in content_type for kind in ("json", "text", "xml")):
        # Audio and the like: its size says enough.
        return f"[{len(body)} bytes of {content_type}]"
    try:
        text = jsonlib.dumps(redact(jsonlib.loads(body)), ensure_ascii=False)
    except ValueError:
        # Whatever a host sent: PostgreSQL keeps no NUL in text, so none may reach the log.
        text = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    if len(text) > LOGGED_BODY_LIMIT:
        return text[:LOGGED_BODY_LIMIT] + f"... [{len(text) - LOGGED_BODY_LIMIT} more characters]"
    return text


def recorder_version() -> str:
    try:
        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as pyproject:
            return tomllib.load(pyproject)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


_default_session: GraphSession | None = None
_default_session_lock = threading.Lock()


def default_session() -> GraphSession:
    """The process's one GraphSession, so every part shares its connection pool."""
    global _default_session
    with _default_session_lock:
        if _default_session is None:
            _default_session = GraphSession()
        return _default_session
