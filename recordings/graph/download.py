"""Downloading a recording from Graph's recording location, through the one HTTP seam.

The location comes from a notification, so it is checked before a packet leaves: an allowed
host (RECORDING_DOWNLOAD_HOSTS, with ALLOWED_HOSTS' syntax), https, no credentials in the URL,
and no loopback address at all but the emulator's own recording route (over plain http,
while the emulator is on), so a forged location can't carry the per-operation token to
another page or port of this machine. No redirect is followed at all: GraphSession never
follows one, and a redirect answer is refused here with where it pointed, so the token can
never be carried off-host. The body is streamed in chunks into the caller's file, counted
against a cap and hashed on the way, and the whole download ends by its deadline whatever
the host does.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import SplitResult, unquote, urlsplit

from django.http.request import validate_host

from recordings.graph.errors import GraphError
from recordings.graph.http import ExchangeLog, GraphResponse, GraphSession, default_session

CHUNK_BYTES = 64 * 1024


class DownloadRefused(GraphError):
    """Recorder refused the download itself (host, scheme, redirect, size): not worth retrying."""

    @property
    def operator_message(self) -> str:
        return f"Recorder refused to download the recording: {self.message}"


class DownloadTooSlow(GraphError):
    """The download outlasted its deadline; another attempt may do better."""


@dataclass(frozen=True)
class Downloaded:
    size: int
    sha256: str
    request_id: str
    client_request_id: str


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_location(url: str, *, allowed_hosts: list[str], loopback_prefix: str = "") -> str:
    """The host of a recording location Recorder may fetch; DownloadRefused says why not.

    `loopback_prefix` is the emulator's recording route (scheme, host, port and path) while
    the emulator is on: the one place on a loopback address that may be fetched, over plain
    http. Every other loopback URL is refused, whatever its scheme, port or path.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise DownloadRefused(f"the recording location {url[:200]!r} names no host.")
    if parts.username or parts.password:
        raise DownloadRefused("the recording location carries credentials in its URL.")
    if is_loopback(host):
        if not (loopback_prefix and _under(parts, urlsplit(loopback_prefix))):
            raise DownloadRefused(
                f"the recording location {_shown(url)} is on this machine, outside the "
                "emulator's recording route; Recorder fetches no other local page."
            )
    elif parts.scheme == "http":
        raise DownloadRefused(
            f"the recording location uses plain http ({host}); only https is fetched."
        )
    elif parts.scheme != "https":
        raise DownloadRefused(f"the recording location's scheme {parts.scheme!r} is not https.")
    if not validate_host(host, allowed_hosts):
        raise DownloadRefused(
            f"the host {host} is not in RECORDING_DOWNLOAD_HOSTS; add it there if Graph "
            "really keeps recordings on it."
        )
    return host


def _under(url: SplitResult, prefix: SplitResult) -> bool:
    # Compared part by part, so that neither a port nor a path can be slipped past it:
    # http://127.0.0.1:8000/emulator/recordings/ does not admit :8001, nor /admin/.
    return (
        url.scheme == prefix.scheme
        and (url.hostname or "").lower() == (prefix.hostname or "").lower()
        and _port(url) == _port(prefix)
        and url.path.startswith(prefix.path)
        and ".." not in unquote(url.path).split("/")
    )


def _port(url: SplitResult) -> int | None:
    try:
        return url.port or {"http": 80, "https": 443}.get(url.scheme)
    except ValueError:
        return None


def _shown(url: str) -> str:
    # A recording link may carry a credential in its query; messages never show one.
    return repr(url.split("?", 1)[0][:200])


def download_recording(
    url: str,
    *,
    token: str,
    sink: BinaryIO,
    allowed_hosts: list[str],
    loopback_prefix: str = "",
    max_bytes: int,
    timeout: float,
    deadline: float | None = None,
    session: GraphSession | None = None,
    log: ExchangeLog | None = None,
) -> Downloaded:
    """Stream the recording at `url` into `sink`; raise a GraphError when it can't be had.

    `timeout` bounds each wait on the network; `deadline` (a time.monotonic() value) bounds
    the whole download by the wall clock, so a worker never outlives the claim it holds on
    the recording: a host that drips a byte inside each timeout is cut off at the deadline.
    One attempt only: retrying, and when, is the caller's decision.
    """
    check_location(url, allowed_hosts=allowed_hosts, loopback_prefix=loopback_prefix)
    session = session or default_session()
    if deadline is not None:
        # Waiting for the answer's headers can't outlast the deadline either.
        timeout = max(min(timeout, deadline - time.monotonic()), 0.001)
    try:
        answer = session.send(
            "GET",
            url,
            action="download recording",
            token=token,
            headers={"Accept": "audio/wav, application/octet-stream"},
            timeout=timeout,
            max_attempts=1,
            stream=True,
            log=log,
        )
    except GraphError as err:
        if err.status is not None and 300 <= err.status < 400:
            raise DownloadRefused(
                f"the recording location answered with a redirect ({err.status}); Recorder "
                "follows no redirect for audio.",
                status=err.status,
                request_id=err.request_id,
                client_request_id=err.client_request_id,
            ) from err
        raise

    ids = {"request_id": answer.request_id, "client_request_id": answer.client_request_id}
    # At the deadline the connection is cut, which ends a read blocked on it at once.
    watchdog = None
    if deadline is not None:
        watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), answer.abort)
        watchdog.daemon = True
        watchdog.start()
    try:
        return _receive(answer, sink=sink, max_bytes=max_bytes, deadline=deadline, ids=ids)
    except GraphError as err:
        if answer.aborted and not isinstance(err, DownloadRefused | DownloadTooSlow):
            raise DownloadTooSlow(
                "the download took longer than its deadline allows",
                status=answer.status,
                **ids,
            ) from err
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()


def _receive(
    answer: GraphResponse, *, sink: BinaryIO, max_bytes: int, deadline: float | None, ids: dict
) -> Downloaded:
    with answer:
        declared = answer.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise DownloadRefused(
                f"the recording is {int(declared)} bytes, more than RECORDING_MAX_BYTES "
                f"({max_bytes}).",
                status=answer.status,
                **ids,
            )
        digest = hashlib.sha256()
        size = 0
        for chunk in answer.iter_bytes(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise DownloadRefused(
                    f"the recording is more than RECORDING_MAX_BYTES ({max_bytes} bytes).",
                    status=answer.status,
                    **ids,
                )
            if deadline is not None and time.monotonic() > deadline:
                raise DownloadTooSlow(
                    f"the download took longer than its deadline allows ({size} bytes so far)",
                    status=answer.status,
                    **ids,
                )
            digest.update(chunk)
            sink.write(chunk)
    if answer.aborted:
        # A body without a length just ends when its connection is cut: it is not whole.
        raise DownloadTooSlow(
            f"the download took longer than its deadline allows ({size} bytes so far)",
            status=answer.status,
            **ids,
        )
    return Downloaded(size=size, sha256=digest.hexdigest(), **ids)
