import pytest

from recordings.graph import ClientCredentialsTokenProvider
from tests.support.graph import (
    AUTHORITY,
    CLIENT_ID,
    CLIENT_SECRET,
    SCOPE,
    TENANT,
    Clock,
)


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


@pytest.fixture
def clock():
    return Clock()
