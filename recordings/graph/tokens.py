"""App tokens for Graph: OAuth2 client credentials, cached until shortly before they expire.

Two providers behind one interface (`http.TokenProvider`, what `GraphSession.send` takes):
MSAL against Azure AD (https authorities), and a plain client-credentials POST for the
emulator, whose authority is http (MSAL insists on https).
"""

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import msal

from recordings.graph.errors import (
    GraphAuthError,
    GraphError,
    GraphNetworkError,
    GraphServiceError,
    GraphThrottledError,
)
from recordings.graph.http import ExchangeLogFactory, GraphSession, new_log

# A token is renewed this long before it expires, so none expires on its way to Graph.
REFRESH_MARGIN = 5 * 60.0


class CachingTokenProvider:
    """The cache both providers share; subclasses say how to fetch a token.

    `log_factory` gives each request to the token endpoint its ExchangeLog; without it the
    requests go unlogged.
    """

    def __init__(
        self,
        *,
        authority_url: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        scope: str,
        session: GraphSession,
        clock: Callable[[], float] = time.monotonic,
        log_factory: ExchangeLogFactory | None = None,
    ) -> None:
        self.authority_url = authority_url.rstrip("/")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.session = session
        self._clock = clock
        self.log_factory = log_factory
        # One lock for reading and fetching: threads that find the token stale wait for the
        # one fetch instead of each asking Azure AD.
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0

    def get_token(self) -> str:
        with self._lock:
            if self._token and self._clock() < self._expires_at - REFRESH_MARGIN:
                return self._token
            # Measured from before the request, so the cache errs on the early side.
            asked_at = self._clock()
            token, expires_in = self._fetch()
            self._token, self._expires_at = token, asked_at + expires_in
            return token

    def invalidate(self) -> None:
        with self._lock:
            self._token = ""
            self._expires_at = 0.0

    def _fetch(self) -> tuple[str, float]:
        raise NotImplementedError


class ClientCredentialsTokenProvider(CachingTokenProvider):
    """`POST {authority}/{tenant}/oauth2/v2.0/token` with the client secret in the form."""

    @property
    def token_url(self) -> str:
        return f"{self.authority_url}/{quote(self.tenant_id, safe='')}/oauth2/v2.0/token"

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "scope": self.scope,
        }
        try:
            response = self.session.send(
                "POST",
                self.token_url,
                action="token",
                data=form,
                log=new_log(self.log_factory),
            )
        except (GraphNetworkError, GraphThrottledError, GraphServiceError):
            # Not a credentials problem: say what it is.
            raise
        except GraphError as err:
            raise GraphAuthError(
                err.message,
                status=err.status,
                code=err.code,
                request_id=err.request_id,
                client_request_id=err.client_request_id,
            ) from err
        return token_from_answer(response.json())


class MsalTokenProvider(CachingTokenProvider):
    """Azure AD through MSAL's ConfidentialClientApplication, over our session.

    MSAL's own token cache is left out: a fresh app per fetch starts with an empty one, so
    our cache alone decides when to renew (the same way for both providers) and invalidate()
    really reaches Azure AD. MSAL's HTTP cache is kept, so the authority's discovery document
    is fetched once, not per token.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._http_cache: dict = {}

    def _fetch(self) -> tuple[str, float]:
        try:
            # Building the app fetches the tenant's OpenID configuration (or reads it from
            # the HTTP cache).
            app = msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._client_secret,
                authority=f"{self.authority_url}/{quote(self.tenant_id, safe='')}",
                http_client=MsalHttpClient(self.session, self.log_factory),
                http_cache=self._http_cache,
                # Both off so MSAL asks no host but the configured authority (instance
                # discovery would ask login.microsoftonline.com about any other).
                validate_authority=False,
                instance_discovery=False,
            )
            # Azure AD's JSON comes back as it is: a token, or `error` and its description.
            result = app.acquire_token_for_client(scopes=[self.scope]) or {}
        except msal.exceptions.MsalServiceError as err:
            raise GraphServiceError(f"Azure AD failed to answer: {err}") from err
        except ValueError as err:
            # MSAL's word for an answer it cannot use: no discovery document (an unknown
            # tenant, a wrong authority URL) or a token answer that is not JSON.
            raise GraphAuthError(str(err), code="unusable_answer") from err
        if "access_token" not in result:
            raise GraphAuthError(
                str(result.get("error_description") or "Azure AD gave no token."),
                code=str(result.get("error") or ""),
            )
        return token_from_answer(result)


class MsalHttpClient:
    """MSAL's `http_client`: our session, with its timeout and no redirects.

    The session itself would do, but MSAL sends no timeout of its own.
    """

    def __init__(self, session: GraphSession, log_factory: ExchangeLogFactory | None) -> None:
        self.session = session
        self.log_factory = log_factory

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kw: Any):
        return self.session.request_once(
            "POST",
            url,
            action="token (MSAL)",
            log=new_log(self.log_factory),
            params=params,
            data=data,
            headers=headers,
            **kw,
        )

    def get(self, url: str, params: Any = None, headers: Any = None, **kw: Any):
        return self.session.request_once(
            "GET",
            url,
            action="authority discovery (MSAL)",
            log=new_log(self.log_factory),
            params=params,
            headers=headers,
            **kw,
        )

    def close(self) -> None:
        # The session is shared and outlives any one MSAL app.
        pass


def token_from_answer(data: Any) -> tuple[str, float]:
    """(token, seconds it lasts) from a token endpoint's JSON answer."""
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise GraphAuthError("The token endpoint answered without an access_token.")
    try:
        # Azure AD's v1 endpoint sent expires_in as a string; v2 sends a number.
        expires_in = float(data.get("expires_in"))
    except (TypeError, ValueError):
        # A token of unknown life is used once and not cached.
        expires_in = 0.0
    return token, expires_in


PROVIDER_KINDS: dict[str, type[CachingTokenProvider]] = {
    "https": MsalTokenProvider,
    "http": ClientCredentialsTokenProvider,
}


def make_token_provider(
    *,
    authority_url: str,
    tenant_id: str,
    client_id: str,
    client_secret: str,
    scope: str,
    session: GraphSession,
    log_factory: ExchangeLogFactory | None = None,
) -> CachingTokenProvider:
    """MSAL for an https authority (Azure AD); plain client credentials for an http one (the
    emulator, whose authority MSAL refuses)."""
    kind = PROVIDER_KINDS.get(urlsplit(authority_url).scheme)
    if kind is None:
        raise ValueError(f"The authority {authority_url!r} is neither an http nor an https URL.")
    return kind(
        authority_url=authority_url,
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
        session=session,
        log_factory=log_factory,
    )
