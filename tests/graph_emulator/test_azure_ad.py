"""The token endpoint, the OpenID configuration and the keys that sign notifications."""

import base64
import time

import jwt
import pytest
from cryptography import x509
from django.conf import settings

from graph_emulator import signing
from graph_emulator.models import SigningKey
from tests.support.emulator import fetch_token

TOKEN_URL = f"/emulator/{settings.EMULATOR_TENANT_ID}/oauth2/v2.0/token"


def form(**overrides):
    return {
        "grant_type": "client_credentials",
        "client_id": settings.EMULATOR_CLIENT_ID,
        "client_secret": settings.EMULATOR_CLIENT_SECRET,
        "scope": "https://graph.microsoft.com/.default",
        **overrides,
    }


@pytest.mark.django_db
def test_the_right_secret_gets_a_signed_graph_token(client):
    response = client.post(TOKEN_URL, form())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "RS256"
    jwks = client.get("/emulator/keys").json()
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.decode(
        body["access_token"], key.key, algorithms=["RS256"], audience="https://graph.microsoft.com"
    )
    assert claims["tid"] == settings.EMULATOR_TENANT_ID
    assert claims["appid"] == settings.EMULATOR_CLIENT_ID
    assert claims["exp"] - claims["iat"] == 3599


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [{"client_secret": "wrong"}, {"client_secret": ""}, {"client_id": "someone-else"}],
)
def test_a_wrong_secret_or_client_is_401_invalid_client(client, overrides):
    response = client.post(TOKEN_URL, form(**overrides))
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS")


@pytest.mark.django_db
def test_a_wrong_tenant_is_400(client):
    response = client.post("/emulator/other-tenant/oauth2/v2.0/token", form())
    assert response.status_code == 400
    assert "other-tenant" in response.json()["error_description"]


@pytest.mark.django_db
def test_other_grants_and_scopes_are_refused(client):
    assert client.post(TOKEN_URL, form(grant_type="password")).json()["error"] == (
        "unsupported_grant_type"
    )
    assert client.post(TOKEN_URL, form(scope="User.Read")).json()["error"] == "invalid_scope"


@pytest.mark.django_db
def test_client_credentials_may_come_as_http_basic(client):
    import base64

    pair = f"{settings.EMULATOR_CLIENT_ID}:{settings.EMULATOR_CLIENT_SECRET}".encode()
    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
        headers={"Authorization": f"Basic {base64.b64encode(pair).decode()}"},
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_openid_configuration_points_at_the_keys(client):
    config = client.get("/emulator/.well-known/OpenIdConfiguration").json()
    assert config["jwks_uri"] == "http://testserver/emulator/keys"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["issuer"] == "https://api.botframework.com"
    keys = client.get("/emulator/keys").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kid"] and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"


@pytest.mark.django_db
def test_the_published_key_carries_its_self_signed_certificate(client):
    [key] = client.get("/emulator/keys").json()["keys"]
    cert = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
    assert cert.subject == cert.issuer
    published = jwt.PyJWK.from_dict(key).key.public_numbers()
    assert cert.public_key().public_numbers() == published
    # Self-signed: the certificate's signature verifies with its own key.
    cert.verify_directly_issued_by(cert)
    # The same certificate every time (every process publishes the same one).
    assert client.get("/emulator/keys").json()["keys"][0]["x5c"] == key["x5c"]


@pytest.mark.django_db
def test_there_is_one_key_made_on_first_use_and_kept(client):
    assert not SigningKey.objects.exists()
    first = signing.current_key()[0]
    assert signing.current_key()[0] == first
    assert SigningKey.objects.count() == 1


@pytest.mark.django_db
def test_a_notification_token_verifies_with_the_published_keys(client):
    token = signing.notification_token()
    jwks = jwt.PyJWKSet.from_dict(client.get("/emulator/keys").json())
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(
        token,
        jwks[kid].key,
        algorithms=["RS256"],
        audience=settings.EMULATOR_CLIENT_ID,
        issuer="https://api.botframework.com",
    )
    assert claims["tid"] == settings.EMULATOR_TENANT_ID
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["nbf"] <= time.time()


@pytest.mark.django_db
def test_an_expired_app_token_is_refused(client):
    kid, key = signing.current_key()
    now = int(time.time())
    stale = jwt.encode(
        {
            "aud": "https://graph.microsoft.com",
            "iss": signing.app_token_issuer(settings.EMULATOR_TENANT_ID),
            "iat": now - 7200,
            "nbf": now - 7200,
            "exp": now - 3600,
            "appid": settings.EMULATOR_CLIENT_ID,
            "tid": settings.EMULATOR_TENANT_ID,
        },
        key,
        algorithm="RS256",
        headers={"kid": kid},
    )
    with pytest.raises(signing.InvalidAppToken, match="expired"):
        signing.verify_app_token(stale)
    assert signing.verify_app_token(fetch_token(client))["appid"] == settings.EMULATOR_CLIENT_ID
