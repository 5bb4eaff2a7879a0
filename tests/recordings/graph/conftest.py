import pytest
import responses

from recordings.graph import GraphSession
from tests.recordings.graph.support import AUTHORITY, GRAPH, TENANT


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
    settings.GRAPH_CLIENT_ID = "client-1"
    settings.GRAPH_CLIENT_SECRET = "secret-1"
    settings.GRAPH_SCOPE = "https://graph.microsoft.com/.default"
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
