"""The emulator's one RSA key: it signs the app tokens it issues (Azure AD's part) and the
notification tokens (Graph's part), and is published as a JWKS.

The key is generated on first use and stored in the database, so every server process, the
`emulator_call` command and the tests sign with the same key.
"""

import base64
import hashlib
import threading
import time
import uuid
from datetime import UTC, datetime

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, transaction

from graph_emulator.models import SigningKey

GRAPH_AUDIENCE = "https://graph.microsoft.com"
# Graph signs its notification tokens as the Bot Framework does, and publishes its keys under
# that issuer's OpenID configuration.
NOTIFICATION_ISSUER = "https://api.botframework.com"
APP_TOKEN_SECONDS = 3599
NOTIFICATION_TOKEN_SECONDS = 3600
APP_ROLES = ["Calls.AccessMedia.All", "Calls.Initiate.All", "Calls.JoinGroupCall.All"]

_lock = threading.Lock()
_parsed: dict[str, rsa.RSAPrivateKey] = {}  # kid -> key; parsing PEM on every use is waste


def _new_key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:18]).decode().rstrip("=")
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(kid=kid, private_pem=pem)


def current_key() -> tuple[str, rsa.RSAPrivateKey]:
    """(kid, private key), creating the key if there is none yet."""
    row = SigningKey.objects.first()
    if row is None:
        candidate = _new_key()
        try:
            with transaction.atomic():
                candidate.save()
            row = candidate
        except IntegrityError:
            # Another process stored its key first: everyone uses that one.
            row = SigningKey.objects.get()
    with _lock:
        key = _parsed.get(row.kid)
    if key is None:
        loaded = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        key = loaded
        with _lock:
            _parsed[row.kid] = key
    return row.kid, key


_certificates: dict[str, bytes] = {}  # kid -> DER


def certificate(kid: str, key: rsa.RSAPrivateKey) -> bytes:
    """A self-signed certificate for the key (DER), as Graph's keys carry in `x5c`.

    Every field is fixed by the key (serial from the kid, fixed validity) and RSA PKCS#1 v1.5
    signatures are deterministic, so every process publishes the same certificate.
    """
    with _lock:
        der = _certificates.get(kid)
    if der is not None:
        return der
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Graph emulator {kid}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(hashlib.sha256(kid.encode()).digest()[:16], "big") >> 1)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    with _lock:
        _certificates[kid] = der
    return der


def jwks() -> dict:
    kid, key = current_key()
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    der = certificate(kid, key)
    jwk.update(
        {
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            # The chain is the one self-signed certificate (standard base64, per RFC 7517).
            "x5c": [base64.b64encode(der).decode()],
            "x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("="),  # noqa: S324
        }
    )
    return {"keys": [jwk]}


def _sign(claims: dict) -> str:
    kid, key = current_key()
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def app_token_issuer(tenant: str) -> str:
    return f"https://sts.windows.net/{tenant}/"


def issue_app_token(*, client_id: str, tenant: str) -> str:
    now = int(time.time())
    return _sign(
        {
            "aud": GRAPH_AUDIENCE,
            "iss": app_token_issuer(tenant),
            "iat": now,
            "nbf": now,
            "exp": now + APP_TOKEN_SECONDS,
            "appid": client_id,
            "tid": tenant,
            "idtyp": "app",
            "roles": APP_ROLES,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{client_id}")),
            "uti": uuid.uuid4().hex,
            "ver": "1.0",
        }
    )


class InvalidAppToken(Exception):
    pass


def verify_app_token(token: str) -> dict:
    """The claims of a token this emulator issued and that has not expired."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as err:
        raise InvalidAppToken("The access token is not a JWT.") from err
    kid, key = current_key()
    if header.get("kid") != kid:
        raise InvalidAppToken("The access token was not issued by this emulator.")
    tenant = settings.EMULATOR_TENANT_ID
    try:
        claims = jwt.decode(
            token,
            key.public_key(),
            algorithms=["RS256"],
            audience=GRAPH_AUDIENCE,
            issuer=app_token_issuer(tenant),
            options={"require": ["exp", "iat", "nbf", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError as err:
        raise InvalidAppToken("Lifetime validation failed, the token is expired.") from err
    except jwt.InvalidTokenError as err:
        raise InvalidAppToken(f"Access token validation failure: {err}.") from err
    if claims.get("appid") != settings.EMULATOR_CLIENT_ID or claims.get("tid") != tenant:
        raise InvalidAppToken("The access token belongs to another application.")
    return claims


def notification_token() -> str:
    now = int(time.time())
    return _sign(
        {
            "iss": NOTIFICATION_ISSUER,
            "aud": settings.EMULATOR_CLIENT_ID,
            "tid": settings.EMULATOR_TENANT_ID,
            "iat": now,
            "nbf": now,
            "exp": now + NOTIFICATION_TOKEN_SECONDS,
            "serviceurl": "https://graph.microsoft.com/",
        }
    )
