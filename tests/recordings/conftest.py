import re

import pytest
import responses
from django.core.files.base import ContentFile
from django.tasks.signals import task_enqueued

from recordings import webhook
from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import GraphSession, NotificationKeys
from recordings.models import Call, CallState, PromptAudio
from tests.support.factories import create_operation
from tests.support.graph import (
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
def graph_http(settings, jwks):
    """Graph, Azure AD and the key endpoint faked at the HTTP seam (and only there)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.POST,
            re.compile(re.escape(settings.GRAPH_AUTHORITY_URL) + r"/[^/]+/oauth2/v2\.0/token"),
            json={"token_type": "Bearer", "expires_in": 3599, "access_token": "app-token"},
        )
        mock.add(
            responses.GET,
            settings.NOTIFICATION_OPENID_CONFIG_URL,
            json={"issuer": "https://api.botframework.com", "jwks_uri": "http://keys.test/jwks"},
        )
        mock.add(responses.GET, "http://keys.test/jwks", json=jwks)
        yield mock


@pytest.fixture
def fresh_keys(monkeypatch, settings, graph_http):
    """A key cache of the webhook's own, so no test sees another's keys."""
    keys = NotificationKeys(
        openid_config_url=settings.NOTIFICATION_OPENID_CONFIG_URL,
        timeout=settings.NOTIFICATION_KEYS_TIMEOUT,
        refetch_interval=settings.NOTIFICATION_KEYS_REFETCH_SECONDS,
        log_factory=DatabaseExchangeLog,
    )
    monkeypatch.setattr(webhook, "notification_keys", lambda: keys)
    webhook.verified_tokens.clear()
    yield keys
    webhook.verified_tokens.clear()


@pytest.fixture
def call(db):
    return Call.objects.create(
        graph_id="421f1100-f4ff-4d0b-a10e-a4d5b1d2be55",
        state=CallState.ESTABLISHED,
        direction=Call.Direction.INCOMING,
        caller_id="+12345678901",
    )


@pytest.fixture
def make_operation(call):
    def make(graph_id="0fe0623f-d628-42ed-b4bd-8ac290072cc5", status="running", **fields):
        return create_operation(
            call=fields.pop("call", call),
            graph_id=graph_id,
            status=status,
            max_record_duration=fields.pop("max_record_duration", 10),
            **fields,
        )

    return make


@pytest.fixture
def beta_profile(settings):
    settings.GRAPH_API_PROFILE = "beta-record"
    settings.GRAPH_API_BASE_URL = "http://graph.test/beta"


@pytest.fixture
def v1_profile(settings):
    settings.GRAPH_API_PROFILE = "v1.0"
    settings.GRAPH_API_BASE_URL = "http://graph.test/v1.0"


@pytest.fixture
def media(settings, tmp_path):
    """A media root of the test's own, with prompts served from the test server."""
    settings.MEDIA_ROOT = tmp_path
    settings.PROMPT_BASE_URL = "http://testserver/media/prompts/"
    return tmp_path


@pytest.fixture
def welcome(settings, tmp_path):
    """A prompt in the library, "Welcome", served from PROMPT_BASE_URL."""
    settings.MEDIA_ROOT = tmp_path
    settings.PROMPT_BASE_URL = "https://prompts.example.com/media/prompts/"
    prompt = PromptAudio(name="Welcome", duration_ms=2400, size_bytes=76844)
    prompt.file.save("welcome.wav", ContentFile(b"RIFF"), save=False)
    prompt.save()
    return prompt


@pytest.fixture
def post_raw(client, make_token, django_capture_on_commit_callbacks):
    """POST bytes to the webhook as Graph would, signed with one valid token, running what
    the webhook leaves for the commit (tests run inside a transaction)."""
    token = make_token()

    def post(body: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            return client.generic(
                "POST",
                "/api/calls",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )

    return post


@pytest.fixture
def heard():
    """The results task_enqueued announces during the test."""
    results = []

    def listener(sender, task_result, **kwargs):
        results.append(task_result)

    task_enqueued.connect(listener)
    yield results
    task_enqueued.disconnect(listener)
