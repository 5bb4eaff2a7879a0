"""Azure AD: the client-credentials token endpoint, and the OpenID configuration and keys
that sign notification tokens."""

import base64
import hmac
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from graph_emulator import signing


def _aad_error(status: int, error: str, code: int, description: str) -> JsonResponse:
    trace = str(uuid.uuid4())
    now = datetime.now(UTC)
    return JsonResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
            f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [code],
            "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
        },
        status=status,
    )


def _basic_credentials(request: HttpRequest) -> tuple[str, str]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return "", ""
    return unquote(user), unquote(password)


@csrf_exempt
def token(request: HttpRequest, tenant: str) -> HttpResponse:
    if request.method != "POST":
        return _aad_error(
            405, "invalid_request", 900561, "The endpoint only accepts POST requests."
        )
    if tenant != settings.EMULATOR_TENANT_ID:
        return _aad_error(
            400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check the tenant id."
        )
    form = request.POST
    if form.get("grant_type") != "client_credentials":
        return _aad_error(
            400,
            "unsupported_grant_type",
            70003,
            "The emulator supports only the client_credentials grant.",
        )
    basic_id, basic_secret = _basic_credentials(request)
    client_id = form.get("client_id") or basic_id
    secret = form.get("client_secret") or basic_secret
    if client_id != settings.EMULATOR_CLIENT_ID:
        return _aad_error(
            401,
            "invalid_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
        )
    if not secret or not hmac.compare_digest(
        secret.encode(), settings.EMULATOR_CLIENT_SECRET.encode()
    ):
        return _aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is "
            "the client secret value, not the client secret ID.",
        )
    scopes = form.get("scope", "").split()
    if f"{signing.GRAPH_AUDIENCE}/.default" not in scopes:
        return _aad_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {form.get('scope', '')!r} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the resource "
            "identifier (https://graph.microsoft.com/.default).",
        )
    return JsonResponse(
        {
            "token_type": "Bearer",
            "expires_in": signing.APP_TOKEN_SECONDS,
            "ext_expires_in": signing.APP_TOKEN_SECONDS,
            "access_token": signing.issue_app_token(client_id=client_id, tenant=tenant),
        }
    )


def openid_configuration(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "issuer": signing.NOTIFICATION_ISSUER,
            "jwks_uri": request.build_absolute_uri(reverse("graph_emulator:keys")),
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }
    )


def keys(request: HttpRequest) -> JsonResponse:
    return JsonResponse(signing.jwks())
