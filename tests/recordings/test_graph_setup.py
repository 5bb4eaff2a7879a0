import pytest

from recordings.graph import (
    PROFILES,
    ClientCredentialsTokenProvider,
    MsalTokenProvider,
    UnknownSigningKey,
    default_session,
)
from recordings.graph_setup import graph_client, notification_keys, token_provider_from_settings
from recordings.models import GraphExchange
from tests.support.graph import AAD, TOKEN_URL

BETA = "https://graph.test/beta"
CONFIG_URL = "https://keys.test/.well-known/OpenIdConfiguration"


# --- Choosing a provider --------------------------------------------------------------------


def test_it_picks_plain_client_credentials_for_an_http_authority(graph_settings):
    provider = token_provider_from_settings()
    assert isinstance(provider, ClientCredentialsTokenProvider)
    assert provider.token_url == TOKEN_URL


def test_it_picks_msal_for_an_https_authority(graph_settings):
    graph_settings.GRAPH_AUTHORITY_URL = AAD
    assert isinstance(token_provider_from_settings(), MsalTokenProvider)


def test_every_caller_shares_one_provider_and_one_session(graph_settings):
    first, second = token_provider_from_settings(), token_provider_from_settings()
    assert first is second
    assert first.session is default_session()


# --- The client and the key cache -----------------------------------------------------------


def test_it_is_built_from_settings_with_the_shared_token_provider_and_session(graph_settings):
    graph_settings.GRAPH_API_PROFILE = "beta-record"
    graph_settings.GRAPH_API_BASE_URL = BETA + "/"

    client = graph_client()

    assert client.base_url == BETA
    assert client.profile is PROFILES["beta-record"]
    assert client.tokens is token_provider_from_settings()
    assert client.session is default_session()


def test_the_webhook_shares_one_instance_built_from_settings(settings):
    settings.NOTIFICATION_OPENID_CONFIG_URL = CONFIG_URL
    settings.NOTIFICATION_KEYS_TIMEOUT = 3.0
    settings.NOTIFICATION_KEYS_REFETCH_SECONDS = 45

    shared = notification_keys()

    assert shared is notification_keys()
    assert (shared.openid_config_url, shared.timeout, shared.refetch_interval) == (
        CONFIG_URL,
        3.0,
        45,
    )
    settings.NOTIFICATION_OPENID_CONFIG_URL = "https://other.test/config"
    assert notification_keys() is not shared


# --- Every token and key request is kept as an exchange -------------------------------------


@pytest.mark.django_db
def test_the_configured_provider_logs_each_token_request(graph_settings, mock_http):
    mock_http.post(TOKEN_URL, json={"access_token": "app-token", "expires_in": 3600})
    provider = token_provider_from_settings()
    # The process's provider: an earlier test may have left it a token.
    provider.invalidate()

    provider.get_token()

    row = GraphExchange.objects.get()
    assert (row.action, row.method, row.url, row.response_status) == (
        "token",
        "POST",
        TOKEN_URL,
        200,
    )
    assert row.request_body["client_secret"] == "[redacted]"
    assert "app-token" not in row.response_body


@pytest.mark.django_db
def test_the_configured_msal_provider_logs_the_discovery_and_the_token(graph_settings, mock_http):
    # A tenant of this test's own, so the provider (and MSAL's discovery cache) is new.
    tenant = "tenant-logged"
    graph_settings.GRAPH_AUTHORITY_URL = AAD
    graph_settings.GRAPH_TENANT_ID = tenant
    mock_http.get(
        f"{AAD}/{tenant}/v2.0/.well-known/openid-configuration",
        json={
            "issuer": f"{AAD}/{tenant}/v2.0",
            "authorization_endpoint": f"{AAD}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{AAD}/{tenant}/oauth2/v2.0/token",
        },
    )
    mock_http.post(
        f"{AAD}/{tenant}/oauth2/v2.0/token",
        json={"token_type": "Bearer", "access_token": "msal-token", "expires_in": 3600},
    )

    assert token_provider_from_settings().get_token() == "msal-token"

    actions = GraphExchange.objects.order_by("pk").values_list("action", "response_status")
    assert list(actions) == [("authority discovery (MSAL)", 200), ("token (MSAL)", 200)]


@pytest.mark.django_db
def test_the_configured_key_cache_logs_each_key_request(settings, mock_http):
    # A configuration of this test's own, so the key cache is new.
    config_url = "https://keys-logged.test/.well-known/OpenIdConfiguration"
    jwks_url = "https://keys-logged.test/jwks"
    settings.NOTIFICATION_OPENID_CONFIG_URL = config_url
    mock_http.get(config_url, json={"jwks_uri": jwks_url})
    mock_http.get(jwks_url, json={"keys": []})

    with pytest.raises(UnknownSigningKey):
        notification_keys().signing_key("key-1")

    rows = GraphExchange.objects.order_by("pk").values_list("action", "url", "response_status")
    assert list(rows) == [
        ("notification keys", config_url, 200),
        ("notification keys", jwks_url, 200),
    ]
