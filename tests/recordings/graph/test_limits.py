"""What a host can't do to the seam: make it read a body whole, inflate a bomb, or hold a
download past its deadline. Each against a real socket on loopback."""

import io
import json
import time
import tracemalloc

import pytest

from recordings.graph import (
    DownloadTooSlow,
    GraphError,
    GraphResponseError,
    GraphServiceError,
    download_recording,
)
from recordings.graph.http import ERROR_BODY_MAX_BYTES, GraphSession
from tests.support.hosts import Host, answering, dripping, gzip_bomb

PREFIX = "/emulator/recordings/"


@pytest.fixture
def one_try_session(settings):
    settings.GRAPH_MAX_ATTEMPTS = 1
    return GraphSession(sleep=lambda _: None)


def peak_allocated(call) -> int:
    tracemalloc.start()
    try:
        call()
    except Exception:  # noqa: S110 - the peak is what is measured, the error is expected
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_an_error_body_that_is_a_gzip_bomb_is_not_inflated(one_try_session):
    bomb = gzip_bomb(64 * 1024 * 1024)  # 64 MiB of zeros in about 64 KiB
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    with Host(answering(500, bomb, headers)) as host:
        peak = peak_allocated(
            lambda: one_try_session.send("GET", host.url, action="get", max_attempts=1)
        )

        with pytest.raises(GraphServiceError):
            one_try_session.send("GET", host.url, action="get", max_attempts=1)

    assert peak < 4 * 1024 * 1024, f"{peak / 2**20:.1f} MiB allocated for an error body"


def test_an_error_body_is_read_only_up_to_its_cap(one_try_session):
    body = json.dumps({"error": {"code": "x", "message": "m" * (4 * 1024 * 1024)}}).encode()

    class Log:
        def started(self, *args):
            pass

        def finished(self, status, text, *args):
            self.text = text

    log = Log()
    with Host(answering(500, body, {"Content-Type": "text/plain"})) as host:
        peak = peak_allocated(
            lambda: one_try_session.send("GET", host.url, action="get", max_attempts=1, log=log)
        )

    assert peak < 2 * 1024 * 1024
    assert len(log.text.encode()) <= ERROR_BODY_MAX_BYTES


def test_an_answer_larger_than_any_graph_answer_is_refused(one_try_session):
    body = json.dumps({"value": ["x" * (2 * 1024 * 1024)]}).encode()
    with (
        Host(answering(200, body, {"Content-Type": "application/json"})) as host,
        pytest.raises(GraphResponseError, match="larger than"),
    ):
        one_try_session.send("GET", host.url, action="get", max_attempts=1)


def download_within_a_second(host, started, *, timeout, session):
    """Download from `host` under its loopback prefix, with a deadline 1 s after `started`."""
    download_recording(
        host.url,
        token="t",
        sink=io.BytesIO(),
        allowed_hosts=["127.0.0.1"],
        loopback_prefix=f"{host.base_url}{PREFIX}",
        max_bytes=1_000_000,
        timeout=timeout,
        deadline=started + 1.0,
        session=session,
    )


@pytest.mark.parametrize("framed", [True, False], ids=["with a length", "to the close"])
def test_a_download_from_a_host_that_drips_ends_at_its_deadline(one_try_session, framed):
    # One byte every 0.3 s never trips a 5 s read timeout; the deadline cuts it at 1 s.
    drip = dripping(every=0.3, length=40, limit=40, framed=framed)
    with Host(drip, path=PREFIX) as host:
        started = time.monotonic()
        with pytest.raises(DownloadTooSlow, match="deadline"):
            download_within_a_second(host, started, timeout=5, session=one_try_session)
        took = time.monotonic() - started

    assert took < 2.0, f"the download went on for {took:.1f} s past a 1 s deadline"


def test_a_host_that_sends_no_headers_is_cut_off_at_the_deadline(one_try_session):
    def silent(handler, host):
        host.closed.wait(10)

    with Host(silent, path=PREFIX) as host:
        started = time.monotonic()
        with pytest.raises(GraphError):
            download_within_a_second(host, started, timeout=30, session=one_try_session)
        took = time.monotonic() - started

    assert took < 2.0


def test_a_body_full_of_nul_bytes_is_logged_without_them():
    # PostgreSQL refuses NUL in a text column: a hostile error body must not break the log.
    from recordings.graph.http import body_text

    text = body_text(b"not json\x00\x00 at all", "text/plain")

    assert "\x00" not in text
    assert text.startswith("not json")


def test_closing_a_session_lets_its_kept_alive_connection_go_and_it_still_works(settings):
    # A kept-alive connection holds a server's request thread (and its database session, on
    # a live server) until the client lets it go.
    settings.GRAPH_MAX_ATTEMPTS = 1
    body = json.dumps({"id": "call-1"}).encode()
    with Host(answering(200, body, {"Content-Type": "application/json"})) as host:
        session = GraphSession(sleep=lambda _: None)
        session.send("GET", host.url, action="get call")
        pools = session.requests.adapters["http://"].poolmanager.pools
        assert len(pools) == 1

        session.close()
        assert len(pools) == 0

        assert session.send("GET", host.url, action="get call").status == 200
        assert host.hits == 2
