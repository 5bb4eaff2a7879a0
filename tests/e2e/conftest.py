"""End to end: Recorder and the emulator on a live server, over real HTTP, with a real task
worker in its own process on the same database."""

import pytest

from graph_emulator import background
from recordings.graph.http import default_session
from tests.support.browser import headless_page
from tests.support.e2e import Recorder


@pytest.fixture
def recorder(live_server, settings, monkeypatch, transactional_db, tmp_path):
    system = Recorder(live_server, settings, monkeypatch, media_root=tmp_path / "media")
    system.configure("beta-record")
    background.resume_watchers()
    yield system
    system.stop_worker()
    # The emulator's per-call watchers (keepAlive) end before the test database goes.
    background.stop_watchers()
    background.wait_idle(10, watchers=True)
    # Recorder's kept-alive connections to the live server each hold one of its request
    # threads, and that thread's database session, open past the test database's end.
    default_session().close()


@pytest.fixture
def browser_page(monkeypatch):
    with headless_page(monkeypatch) as page:
        yield page
