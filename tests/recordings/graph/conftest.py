import pytest
import responses

from recordings.graph import ClientCredentialsTokenProvider, GraphSession
from tests.recordings.graph.support import (
    AUTHORITY,
    CLIENT_ID,
    CLIENT_SECRET,
    GRAPH,
    SCOPE,
    TENANT,
)


@pytest.fixture
def graph_settings(settings):
    """Known values for every setting the Graph package reads."""
    settings.GRAPH_TIMEOUT = 7.5
    settings.GRAPH_MAX_ATTEMPTS = 4
    settings.GRAPH_MAX_RETRY_AFTER = 30.0
    settings.GRAPH_API_BASE_URL = GRAPH
    settings.GRAPH_API_PROFILE = "v1.0"
    settings.GRAPH_AUTHORITY_URL = AUTHORITY
    settings.GRAPH_TENANT_ID = TENANT
    settings.GRAPH_CLIENT_ID = CLIENT_ID
    settings.GRAPH_CLIENT_SECRET = CLIENT_SECRET
    settings.GRAPH_SCOPE = SCOPE
    return settings


@pytest.fixture
def mock_http():
    """Every outgoing request answered by `responses`; an unregistered URL fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def session(graph_settings, sleeps):
    """A GraphSession that records the waits it would make instead of making them."""
    return GraphSession(sleep=sleeps.append)


@pytest.fixture
def make_tokens(session):
    """A token provider for the test app registration over the test session; the emulator's
    kind unless told otherwise."""

    def make(kind=ClientCredentialsTokenProvider, **overrides):
        config = {
            "authority_url": AUTHORITY,
            "tenant_id": TENANT,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": SCOPE,
            "session": session,
        }
        return kind(**{**config, **overrides})

    return make
