"""Downloading a recording from Graph's recording location, through the one HTTP seam.

The location comes from a notification, so it is checked before a packet leaves: an allowed
host (RECORDING_DOWNLOAD_HOSTS, with ALLOWED_HOSTS' syntax), https (plain http only to
loopback while the emulator is on), no credentials in the URL. No redirect is followed at
all: GraphSession never follows one, and a redirect answer is refused here with where it
pointed, so the per-operation token can never be carried off-host. The body is streamed in
chunks into the caller's file, counted against a cap and hashed on the way.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from django.http.request import validate_host

from recordings.graph.errors import GraphError
from recordings.graph.http import ExchangeLog, GraphSession, default_session

CHUNK_BYTES = 1024 * 1024


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


def check_location(url: str, *, allowed_hosts: list[str], allow_loopback_http: bool) -> str:
    """The host of a recording location Recorder may fetch; DownloadRefused says why not."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise DownloadRefused(f"the recording location {url[:200]!r} names no host.")
    if parts.username or parts.password:
        raise DownloadRefused("the recording location carries credentials in its URL.")
    if parts.scheme == "http":
        if not (allow_loopback_http and is_loopback(host)):
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


def download_recording(
    url: str,
    *,
    token: str,
    sink: BinaryIO,
    allowed_hosts: list[str],
    allow_loopback_http: bool,
    max_bytes: int,
    timeout: float,
    deadline: float | None = None,
    session: GraphSession | None = None,
    log: ExchangeLog | None = None,
) -> Downloaded:
    """Stream the recording at `url` into `sink`; raise a GraphError when it can't be had.

    `timeout` bounds each wait on the network; `deadline` (a time.monotonic() value) bounds
    the whole download, so a worker never outlives the claim it holds on the recording.
    One attempt only: retrying, and when, is the caller's decision.
    """
    check_location(url, allowed_hosts=allowed_hosts, allow_loopback_http=allow_loopback_http)
    session = session or default_session()
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
                    f"the download took too long ({size} bytes so far)",
                    status=answer.status,
                    **ids,
                )
            digest.update(chunk)
            sink.write(chunk)
    return Downloaded(size=size, sha256=digest.hexdigest(), **ids)
