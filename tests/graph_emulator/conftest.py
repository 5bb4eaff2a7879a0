"""Fixtures for the emulator's tests.

The emulator does its timed work on background threads that use their own database
connections, so tests that drive it use `transactional_db` (the threads must see committed
rows) and wait for the threads to finish before the database is flushed. The bot's callback is
a small `http.server` thread that records what it receives and serves prompt files.
"""

from collections.abc import Callable, Iterator

import pytest

from graph_emulator import background, faults, services, signing
from graph_emulator.models import SigningKey
from tests.support.emulator import TIME_SCALE, Graph, Receiver, answer_body, fetch_token, states


@pytest.fixture(scope="session")
def _one_rsa_key() -> SigningKey:
    return signing._new_key()


@pytest.fixture(autouse=True)
def _reuse_rsa_key(monkeypatch, _one_rsa_key) -> None:
    # Every test starts with an empty database, so the emulator would make a 2048-bit key in
    # each one; one per session keeps the suite fast and changes nothing else.
    monkeypatch.setattr(
        signing,
        "_new_key",
        lambda: SigningKey(kid=_one_rsa_key.kid, private_pem=_one_rsa_key.private_pem),
    )


@pytest.fixture
def emulator(settings, tmp_path, transactional_db) -> Iterator[None]:
    settings.GRAPH_EMULATOR_TIME_SCALE = TIME_SCALE
    settings.GRAPH_EMULATOR_DATA_DIR = tmp_path / "emulator"
    settings.GRAPH_EMULATOR_RECORDING_LIFETIME = 600.0
    background.resume_watchers()
    yield
    faults.clear_faults()
    background.stop_watchers()
    assert background.wait_idle(10, watchers=True), "the emulator's threads did not finish"


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    bot = Receiver()
    settings.GRAPH_EMULATOR_CALLBACK_URL = bot.url
    yield bot
    # Let the emulator finish talking to the bot before the bot goes away.
    background.wait_idle(10)
    bot.close()


@pytest.fixture
def graph(client, emulator) -> Graph:
    return Graph(client, fetch_token(client))


@pytest.fixture
def established(graph: Graph, receiver: Receiver) -> Callable[..., str]:
    """Place a call with a caller script, answer it, wait for `established`: its id."""

    def make(script: str = "speak 1") -> str:
        call = services.place_call(script=script, callback_url=receiver.url)
        services.announce_call(call, wait=True)
        path = f"/emulator/v1.0/communications/calls/{call.id}/answer"
        response = graph.post(path, answer_body(receiver))
        assert response.status_code == 202, response.content
        receiver.wait_for(
            lambda ns: "established" in states([n for n in ns if call.id in n["resourceUrl"]])
        )
        return call.id

    return make
