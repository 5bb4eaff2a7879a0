"""Fixtures shared by the whole suite: a notification signing key and token factory, and a
task backend that records what is enqueued without running it (end-to-end tests use a real
worker instead)."""

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings

from tests.support.graph import TEST_KID
from tests.support.paths import REPO
from tests.support.tasks import use_task_backend

# The SQLite test database is a file so a worker process can share it.
(REPO / "var" / "static").mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _passwords_hash_fast(settings):
    # PBKDF2's cost is the point in production and most of a test's set-up time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_are_recorded_not_run(settings):
    use_task_backend(settings, "django.tasks.backends.dummy.DummyBackend")


@pytest.fixture(scope="session")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def jwks(signing_key):
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    return {"keys": [{**public, "kid": TEST_KID, "use": "sig", "alg": "RS256"}]}


@pytest.fixture
def make_token(signing_key):
    """Build a notification JWT; keyword arguments override or (as None) remove claims."""

    def make(*, key=None, kid=TEST_KID, algorithm="RS256", headers=None, **claims):
        now = int(time.time())
        payload = {
            "iss": "https://graph.microsoft.com",
            "aud": django_settings.GRAPH_CLIENT_ID,
            "tid": django_settings.GRAPH_TENANT_ID,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "jti": str(uuid.uuid4()),
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(
            payload,
            key if key is not None else signing_key,
            algorithm=algorithm,
            headers={"kid": kid, **(headers or {})} if kid else headers,
        )

    return make
