import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from recordings.graph import (
    GraphAuthError,
    GraphNetworkError,
    GraphServiceError,
    MsalTokenProvider,
)
from tests.support.graph import (
    AAD,
    SCOPE,
    TENANT,
    TOKEN_URL,
    RecordingLogs,
    connect_timeout,
    read_timeout,
)

AAD_DISCOVERY = f"{AAD}/{TENANT}/v2.0/.well-known/openid-configuration"
AAD_TOKEN_URL = f"{AAD}/{TENANT}/oauth2/v2.0/token"


def token_answer(token, expires_in=3600):
    return {"token_type": "Bearer", "expires_in": expires_in, "access_token": token}


def form_of(request):
    return {key: values[0] for key, values in parse_qs(request.body).items()}


@pytest.fixture
def plain(make_tokens, clock):
    return make_tokens(clock=clock)


@pytest.fixture
def msal_provider(make_tokens, clock):
    return make_tokens(MsalTokenProvider, authority_url=AAD, clock=clock)


@pytest.fixture
def azure_ad(mock_http):
    """Azure AD's two endpoints MSAL needs: the tenant's discovery document and the token."""
    mock_http.get(
        AAD_DISCOVERY,
        json={
            "issuer": f"{AAD}/{TENANT}/v2.0",
            "authorization_endpoint": f"{AAD}/{TENANT}/oauth2/v2.0/authorize",
            "token_endpoint": AAD_TOKEN_URL,
        },
    )
    return mock_http


# --- The emulator's plain client-credentials endpoint ---------------------------------------


def test_it_posts_the_client_credentials_form_to_the_token_endpoint(plain, mock_http):
    mock_http.post(TOKEN_URL, json=token_answer("app-token"))

    assert plain.get_token() == "app-token"

    request = mock_http.calls[0].request
    assert request.url == TOKEN_URL
    assert form_of(request) == {
        "grant_type": "client_credentials",
        "client_id": "client-1",
        "client_secret": "secret-1",
        "scope": SCOPE,
    }
    assert request.req_kwargs["timeout"] == 7.5


def test_it_caches_the_token_until_five_minutes_before_it_expires(plain, mock_http, clock):
    mock_http.post(TOKEN_URL, json=token_answer("first", expires_in=3600))
    mock_http.post(TOKEN_URL, json=token_answer("second", expires_in=3600))

    assert plain.get_token() == "first"
    clock.now += 3600 - 300 - 1
    assert plain.get_token() == "first"
    assert len(mock_http.calls) == 1
    clock.now += 1
    assert plain.get_token() == "second"
    assert len(mock_http.calls) == 2


def test_it_accepts_expires_in_as_a_string(plain, mock_http, clock):
    mock_http.post(TOKEN_URL, json=token_answer("t", expires_in="3600"))
    plain.get_token()
    clock.now += 60
    plain.get_token()
    assert len(mock_http.calls) == 1


def test_each_token_request_goes_to_a_fresh_log_of_its_own(make_tokens, mock_http):
    logs = RecordingLogs()
    provider = make_tokens(log_factory=logs)
    mock_http.post(TOKEN_URL, json=token_answer("first"))
    mock_http.post(TOKEN_URL, json=token_answer("second"))

    provider.get_token()
    provider.invalidate()
    provider.get_token()

    assert logs.actions() == ["token", "token"]
    assert logs.made[0] is not logs.made[1]


def test_invalidate_makes_the_next_call_fetch_a_fresh_token(plain, mock_http):
    mock_http.post(TOKEN_URL, json=token_answer("first"))
    mock_http.post(TOKEN_URL, json=token_answer("second"))
    plain.get_token()
    plain.invalidate()
    assert plain.get_token() == "second"


def test_threads_that_find_no_token_wait_for_one_fetch(plain, mock_http):
    def slow_token(request):
        time.sleep(0.05)
        return 200, {}, '{"access_token": "shared", "expires_in": 3600}'

    mock_http.add_callback("POST", TOKEN_URL, callback=slow_token)
    tokens = []

    def fetch():
        tokens.append(plain.get_token())

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert tokens == ["shared"] * 8
    assert len(mock_http.calls) == 1


def test_a_wrong_secret_is_an_auth_error_with_azure_ads_code(plain, mock_http):
    mock_http.post(
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": "AADSTS7000215: Invalid secret."},
    )
    with pytest.raises(GraphAuthError) as caught:
        plain.get_token()
    assert caught.value.status == 401
    assert caught.value.code == "invalid_client"
    assert caught.value.message == "AADSTS7000215: Invalid secret."
    assert "secret" in caught.value.operator_message


def test_an_answer_without_a_token_is_an_auth_error(plain, mock_http):
    mock_http.post(TOKEN_URL, json={"token_type": "Bearer"})
    with pytest.raises(GraphAuthError, match="without an access_token"):
        plain.get_token()


def test_an_unreachable_token_endpoint_stays_a_network_error(plain, mock_http):
    mock_http.post(TOKEN_URL, body=read_timeout())
    with pytest.raises(GraphNetworkError):
        plain.get_token()


# --- Azure AD through MSAL ------------------------------------------------------------------


def test_msal_gets_a_token_from_the_configured_authority_only(msal_provider, azure_ad):
    azure_ad.post(AAD_TOKEN_URL, json=token_answer("aad-token"))

    assert msal_provider.get_token() == "aad-token"

    assert [(c.request.method, c.request.url) for c in azure_ad.calls] == [
        ("GET", AAD_DISCOVERY),
        ("POST", AAD_TOKEN_URL),
    ]
    assert {urlsplit(c.request.url).hostname for c in azure_ad.calls} == {"login.example.test"}
    form = form_of(azure_ad.calls[1].request)
    assert form["grant_type"] == "client_credentials"
    assert form["client_id"] == "client-1"
    assert form["client_secret"] == "secret-1"
    assert SCOPE in form["scope"]


def test_msal_logs_the_discovery_and_the_token_request(make_tokens, azure_ad):
    logs = RecordingLogs()
    azure_ad.post(AAD_TOKEN_URL, json=token_answer("msal-token"))

    make_tokens(MsalTokenProvider, authority_url=AAD, log_factory=logs).get_token()

    assert logs.actions() == ["authority discovery (MSAL)", "token (MSAL)"]


def test_msal_goes_through_our_session_with_its_timeout(msal_provider, azure_ad):
    azure_ad.post(AAD_TOKEN_URL, json=token_answer("aad-token"))
    msal_provider.get_token()
    for call in azure_ad.calls:
        assert call.request.req_kwargs["timeout"] == 7.5
        assert call.request.headers["User-Agent"].startswith("Recorder/")


def test_msal_tokens_are_cached_until_five_minutes_before_expiry(msal_provider, azure_ad, clock):
    azure_ad.post(AAD_TOKEN_URL, json=token_answer("first"))
    azure_ad.post(AAD_TOKEN_URL, json=token_answer("second"))

    assert msal_provider.get_token() == "first"
    clock.now += 3600 - 300 - 1
    assert msal_provider.get_token() == "first"
    clock.now += 1
    assert msal_provider.get_token() == "second"
    # The discovery document is fetched once, not per token.
    assert [c.request.method for c in azure_ad.calls] == ["GET", "POST", "POST"]


def test_msal_invalidate_really_asks_azure_ad_again(msal_provider, azure_ad):
    azure_ad.post(AAD_TOKEN_URL, json=token_answer("first"))
    azure_ad.post(AAD_TOKEN_URL, json=token_answer("second"))
    msal_provider.get_token()
    msal_provider.invalidate()
    assert msal_provider.get_token() == "second"


def test_msal_refusal_is_an_auth_error_with_azure_ads_code(msal_provider, azure_ad):
    azure_ad.post(
        AAD_TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": "AADSTS7000215: Invalid secret."},
    )
    with pytest.raises(GraphAuthError) as caught:
        msal_provider.get_token()
    assert caught.value.code == "invalid_client"
    assert "AADSTS7000215" in caught.value.message


def test_msal_unknown_tenant_is_an_auth_error(msal_provider, mock_http):
    mock_http.get(AAD_DISCOVERY, status=400, json={"error": "invalid_tenant"})
    with pytest.raises(GraphAuthError) as caught:
        msal_provider.get_token()
    assert "tenant name" in caught.value.message


def test_msal_azure_ad_failure_is_a_service_error(msal_provider, azure_ad):
    azure_ad.post(AAD_TOKEN_URL, status=503, body="unavailable")
    with pytest.raises(GraphServiceError):
        msal_provider.get_token()


def test_msal_unreachable_authority_is_a_network_error(msal_provider, mock_http):
    mock_http.get(AAD_DISCOVERY, body=connect_timeout())
    with pytest.raises(GraphNetworkError):
        msal_provider.get_token()
