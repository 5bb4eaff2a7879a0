"""`POST /api/calls`: Graph's notifications.

Order matters: the size is checked before the body is read, the bearer JWT is verified before
anything in the request is trusted, and the raw body is stored in the transaction that
applies it, before the 202 (or on its own with the error, if applying it fails). Nothing
slow happens here: remote work is enqueued.

A request that fails authentication is logged and not stored: storing whatever an anonymous
sender posts would let anyone fill the database.
"""

import logging
import threading
import time
from collections import OrderedDict

import jwt
from django.conf import settings
from django.http import HttpResponse
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from recordings.graph import GraphError, PayloadError, UnknownSigningKey
from recordings.graph_setup import notification_keys
from recordings.services import notifications as notification_services

logger = logging.getLogger(__name__)

# Headers worth keeping with a notification; the Authorization header is a credential.
KEPT_HEADERS = (
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "HTTP_USER_AGENT",
    "HTTP_CLIENT_REQUEST_ID",
    "HTTP_REQUEST_ID",
    "HTTP_SCENARIO_ID",
    "HTTP_X_FORWARDED_FOR",
)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The notification body is larger than Recorder accepts."
    default_code = "payload_too_large"


class KeysUnavailable(APIException):
    # 503 so Graph retries: the sender did nothing wrong, Recorder could not check.
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Recorder could not fetch the keys that sign notifications; retry later."
    default_code = "keys_unavailable"


class GraphNotifier:
    """The authenticated sender of a notification (not a Django user)."""

    is_authenticated = True

    def __init__(self, claims: dict):
        self.claims = claims

    def __str__(self) -> str:
        return f"Graph ({self.claims.get('iss')})"


class VerifiedTokens:
    """Tokens that passed every check, with their claims, until they expire.

    Graph signs one token and sends it with notification after notification for up to an
    hour: checking its signature once is enough. A token is kept only after the full check,
    and its expiry is checked again on every use. Bounded, least recently used first out.
    """

    def __init__(self, size: int = 1024):
        self.size = size
        self._claims: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> dict | None:
        with self._lock:
            claims = self._claims.get(token)
            if claims is None:
                return None
            if claims["exp"] + settings.NOTIFICATION_LEEWAY_SECONDS < time.time():
                del self._claims[token]
                return None
            self._claims.move_to_end(token)
            return claims

    def put(self, token: str, claims: dict) -> None:
        with self._lock:
            self._claims[token] = claims
            self._claims.move_to_end(token)
            while len(self._claims) > self.size:
                self._claims.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._claims.clear()


verified_tokens = VerifiedTokens()


def verify_notification_token(token: str) -> dict:
    """Return the claims of a notification JWT, or raise AuthenticationFailed saying why."""
    claims = verified_tokens.get(token)
    if claims is None:
        claims = _verify(token)
        verified_tokens.put(token, claims)
    return claims


def _verify(token: str) -> dict:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as err:
        raise AuthenticationFailed(f"Malformed token: {err}") from err
    # Decided from our own list, never from the token: this rules out "none" and HMAC
    # tokens "signed" with the public key.
    if header.get("alg") != "RS256":
        raise AuthenticationFailed(f"Token algorithm {header.get('alg')!r} is not accepted.")
    try:
        key = notification_keys().signing_key(header.get("kid"))
    except UnknownSigningKey as err:
        raise AuthenticationFailed(f"Token signed with an unknown key: {err}") from err
    except GraphError as err:
        logger.error("Notification keys unavailable: %s", err)
        raise KeysUnavailable() from err
    try:
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=["RS256"],
            audience=settings.NOTIFICATION_AUDIENCE,
            issuer=settings.NOTIFICATION_ISSUERS,
            leeway=settings.NOTIFICATION_LEEWAY_SECONDS,
            options={"require": ["exp", "nbf", "iss", "aud", "tid"]},
        )
    except jwt.InvalidTokenError as err:
        raise AuthenticationFailed(f"Token rejected: {err}") from err
    # Graph signs every tenant's notifications with the same keys: only the tenant says
    # whether this one is for our bot.
    if claims["tid"] not in settings.NOTIFICATION_TENANT_IDS:
        raise AuthenticationFailed(f"Token rejected: tenant {claims['tid']!r} is not accepted.")
    return claims


class GraphNotificationAuthentication(BaseAuthentication):
    def authenticate(self, request):
        authorization = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("A bearer token is required.")
        claims = verify_notification_token(token.strip())
        return GraphNotifier(claims), claims

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate), not 403.
        return 'Bearer realm="recorder"'


class JSONAnswers(BaseContentNegotiation):
    """Graph asks for nothing: every answer is JSON (or empty), whatever Accept says, with no
    negotiation to pay for on each of its notifications."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class NotificationWebhook(APIView):
    authentication_classes = [GraphNotificationAuthentication]
    permission_classes: list = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONAnswers
    # The body is read raw; DRF's parsers are never used here.
    parser_classes: list = []

    def initial(self, request, *args, **kwargs):
        # Before authentication, so an oversized body is never read.
        limit = settings.NOTIFICATION_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise PayloadTooLarge()
        super().initial(request, *args, **kwargs)

    def permission_denied(self, request, message=None, code=None):
        raise AuthenticationFailed(message)

    def handle_exception(self, exc):
        if isinstance(exc, AuthenticationFailed):
            logger.warning(
                "Rejected a notification from %s: %s",
                self.request.META.get("REMOTE_ADDR"),
                exc.detail,
            )
        return super().handle_exception(exc)

    def post(self, request):
        body = _read_limited(request._request, settings.NOTIFICATION_MAX_BYTES)
        meta = request.META
        try:
            notification_services.receive_notification(
                body=body,
                headers={k: meta[k] for k in KEPT_HEADERS if k in meta},
                remote_addr=meta.get("REMOTE_ADDR"),
                claims=request.auth,
            )
        except PayloadError as err:
            return Response(
                {"error": "bad_notification", "detail": str(err)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        # Anything else is Recorder's fault: the row keeps the traceback, and the 500 makes
        # Graph deliver again.
        return _accepted()


def _accepted() -> HttpResponse:
    """The 202 Graph gets for every notification taken: empty and with no Content-Type, as
    DRF renders a Response with no data, without DRF's rendering of nothing."""
    response = HttpResponse(status=status.HTTP_202_ACCEPTED)
    del response["Content-Type"]
    return response


class LengthRequired(APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = (
        "The body came chunked, and this server can't read a chunked body: send a "
        "Content-Length, or serve Recorder with gunicorn."
    )
    default_code = "length_required"


def _read_limited(request, limit: int) -> bytes:
    """The body, refusing one over the limit even when no Content-Length announced it.

    A chunked body has no Content-Length, so Django reads none of it. A server that
    decodes the chunks and ends its input at the body's end says so with
    `wsgi.input_terminated` (gunicorn does): the body is then read from its input directly,
    under the same cap. Any other server's chunked body is refused, never taken as empty.
    """
    meta = request.META
    stream = request
    if not meta.get("CONTENT_LENGTH") and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", ""):
        if not meta.get("wsgi.input_terminated"):
            raise LengthRequired()
        stream = meta["wsgi.input"]
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge()
    return body
