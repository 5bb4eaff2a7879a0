"""The emulator's only outgoing HTTP: fetching prompts and posting notifications.

The emulator contacts loopback addresses only (127.0.0.0/8 and ::1). A URL naming anything
else is refused before any packet leaves, host names other than `localhost` are not even
looked up (a DNS query is itself contact), redirects are not followed, and proxies from the
environment are ignored (a proxy is another host).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import requests

from graph_emulator.audio import PromptError

USER_AGENT = "GraphEmulator/1.0 (Recorder)"
MAX_PROMPT_BYTES = 50 * 1024 * 1024
PROMPT_TIMEOUT = (2.0, 5.0)
NOTIFY_TIMEOUT = (3.0, 10.0)


class NotLoopback(ValueError):
    pass


def check_loopback(url: str) -> None:
    """Raise NotLoopback (with a sentence) unless `url` points at this machine."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise NotLoopback(f"{url!r} is not a valid URL") from err
    if parts.scheme not in ("http", "https"):
        raise NotLoopback(f"{url!r} is not an http(s) URL")
    host = (parts.hostname or "").lower()
    if not host:
        raise NotLoopback(f"{url!r} has no host")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if host != "localhost" and not host.endswith(".localhost"):
            raise NotLoopback(
                f"{host} is not a loopback address; the emulator only contacts 127.0.0.0/8 and ::1"
            ) from None
        try:
            infos = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
        except OSError as err:
            raise NotLoopback(f"{host} does not resolve") from err
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_loopback:
            raise NotLoopback(f"{host} ({address}) is not a loopback address")


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = USER_AGENT
    return session


def fetch_prompt(url: str) -> bytes:
    """The bytes of a prompt, or PromptError saying why Graph could not fetch it."""
    try:
        check_loopback(url)
    except NotLoopback as err:
        raise PromptError(str(err)) from err
    try:
        with (
            _session() as session,
            session.get(url, timeout=PROMPT_TIMEOUT, allow_redirects=False, stream=True) as resp,
        ):
            if resp.status_code != 200:
                raise PromptError(f"fetching {url} answered HTTP {resp.status_code}")
            data = bytearray()
            for chunk in resp.iter_content(64 * 1024):
                data += chunk
                if len(data) > MAX_PROMPT_BYTES:
                    raise PromptError(f"{url} is larger than {MAX_PROMPT_BYTES} bytes")
            return bytes(data)
    except requests.RequestException as err:
        raise PromptError(f"{url} could not be fetched ({type(err).__name__})") from err


def post_json(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST once; the HTTP status, or requests.RequestException when there is no answer."""
    check_loopback(url)
    with _session() as session:
        resp = session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=NOTIFY_TIMEOUT,
            allow_redirects=False,
        )
        resp.close()
        return resp.status_code
