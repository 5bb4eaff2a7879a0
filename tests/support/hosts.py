"""Recording hosts that misbehave on purpose: real sockets on loopback, served from a thread.

Each serves every GET the same way and counts what it was asked. A host that drips or
bombs stands for a Graph recording location gone wrong; the worker under test can't tell
it from the real thing.
"""

import contextlib
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip body of `inflated_bytes` zeros, made a block at a time (never held whole)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = []
    left = inflated_bytes
    while left > 0:
        parts.append(packer.compress(block[: min(left, len(block))]))
        left -= len(block)
    parts.append(packer.flush())
    return b"".join(parts)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client cut off mid-answer is what these hosts are for


class Host:
    """One misbehaving host. `answer(handler)` writes the whole answer to one request."""

    def __init__(self, answer, path: str = "/emulator/recordings/"):
        self.hits = 0
        self.closed = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                outer.hits += 1
                # The client hanging up is what a deadline does.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    answer(self, outer)

            def log_message(self, *args):
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base_url}{path}recording-1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "Host":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def dripping(*, every: float, length: int = 1_000_000, limit: int | None = None, framed=True):
    """200, then one byte each `every` seconds; with `framed` False, no Content-Length (the
    body ends when the connection does). Stops after `limit` bytes if given."""

    def answer(handler: BaseHTTPRequestHandler, host: Host) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        if framed:
            handler.send_header("Content-Length", str(length))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        for _ in _count(limit if limit is not None else length):
            if host.closed.wait(every):
                return
            handler.wfile.write(b"R")
            handler.wfile.flush()
        handler.close_connection = True

    return answer


def trickling(body: bytes, *, chunk: int, every: float):
    """200 and the whole `body`, `chunk` bytes each `every` seconds: a download that is
    still under way for a while, and then completes."""

    def answer(handler: BaseHTTPRequestHandler, host: Host) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "audio/wav")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for start in range(0, len(body), chunk):
            if host.closed.wait(every):
                return
            handler.wfile.write(body[start : start + chunk])
            handler.wfile.flush()

    return answer


def hanging():
    """Takes the request and never answers it (until the host closes)."""

    def answer(handler: BaseHTTPRequestHandler, host: Host) -> None:
        host.closed.wait()
        handler.close_connection = True

    return answer


def answering(status: int, body: bytes, headers: dict[str, str] | None = None):
    """One fixed answer, with Content-Length."""

    def answer(handler: BaseHTTPRequestHandler, host: Host) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def authorizing(body: bytes, *, token: str, delay: float = 0.0):
    """Graph's recording location, slowed by `delay` seconds: `body` to a request bearing
    `token`, 401 to any other. Slowed, two workers fetching at once overlap."""

    def answer(handler: BaseHTTPRequestHandler, host: Host) -> None:
        if handler.headers.get("Authorization") != f"Bearer {token}":
            handler.send_response(401)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if host.closed.wait(delay):
            return
        answering(200, body, {"Content-Type": "application/octet-stream"})(handler, host)

    return answer


def _count(n: int) -> Iterator[int]:
    yield from range(n)


def elapsed(since: float) -> float:
    return time.monotonic() - since
