"""The public keys that sign Graph's notification tokens.

Fetched from the OpenID configuration's `jwks_uri` and cached. A token signed with a key not
in the cache makes Recorder look again, but at most once per refetch interval: anyone can send
a token with a made-up `kid`, and each must not cost a round trip to the key endpoint.

One fetch at a time: a request that finds one under way waits for it only briefly, and one
that comes shortly after a fetch failed does not try again; both are told the keys are
unavailable (the webhook answers 503, and Graph delivers again), so a key endpoint that
hangs holds up one request, never every thread of the server.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from recordings.graph.errors import GraphError, GraphResponseError
from recordings.graph.http import ExchangeLogFactory, GraphSession, default_session, new_log

logger = logging.getLogger(__name__)

# A webhook request waits on this fetch, and Graph expects an answer within seconds.
MAX_TIMEOUT = 5.0


class UnknownSigningKey(LookupError):
    """No RSA key with this kid, even after looking again (or looking again is not due yet)."""


class SigningKeysUnavailable(GraphError):
    """No fetch was made for this request: another is under way, or one failed just now."""


class _Fetch:
    """One fetch of the keys, for the requests that wait on it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error = ""


class NotificationKeys:
    """`log_factory` gives each request to the key endpoints its ExchangeLog; without it the
    requests go unlogged. `wait_for_fetch` is how long a request waits on a fetch another
    one made; `retry_after_failure` how long after a failed fetch none is tried."""

    def __init__(
        self,
        openid_config_url: str,
        timeout: float = MAX_TIMEOUT,
        refetch_interval: float = 30,
        *,
        session: GraphSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        log_factory: ExchangeLogFactory | None = None,
        wait_for_fetch: float = 0.2,
        retry_after_failure: float = 5.0,
    ) -> None:
        self.openid_config_url = openid_config_url
        self.timeout = min(timeout, MAX_TIMEOUT)
        self.refetch_interval = refetch_interval
        self._session = session or default_session()
        self._clock = clock
        self.log_factory = log_factory
        self.wait_for_fetch = wait_for_fetch
        self.retry_after_failure = retry_after_failure
        # Guards the state below, never held during a fetch.
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded = False
        self._fetched_at = 0.0
        self._under_way: _Fetch | None = None
        self._failed_at: float | None = None
        self._failure = ""

    def signing_key(self, kid: str) -> jwt.PyJWK:
        """The RSA key with this kid. Raises UnknownSigningKey, or a GraphError when the keys
        could not be had (SigningKeysUnavailable when none was fetched for this request):
        then the sender should try again later."""
        # The common case takes no lock: the dict is replaced whole, never changed in place.
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            # Another thread may have fetched while this one waited.
            key = self._keys.get(kid)
            if key is not None:
                return key
            fetch = self._under_way
            if fetch is None:
                now = self._clock()
                self._refuse_unless_due(kid, now)
                # Counted from the attempt, so a failing endpoint is not asked on every
                # request either.
                self._fetched_at = now
                fetch = self._under_way = _Fetch()
                mine = True
            else:
                mine = False
        if not mine:
            return self._wait_for(fetch, kid)
        try:
            keys = self._fetch()
        except BaseException as err:
            with self._lock:
                self._failed_at = self._clock()
                self._failure = fetch.error = str(err) or type(err).__name__
                self._under_way = None
            fetch.done.set()
            raise
        with self._lock:
            self._keys = keys
            self._loaded = True
            self._failed_at = None
            self._under_way = None
        fetch.done.set()
        key = keys.get(kid)
        if key is None:
            raise UnknownSigningKey(f"No signing key {kid!r} among the published keys.")
        return key

    def _refuse_unless_due(self, kid: str, now: float) -> None:
        if self._loaded and now - self._fetched_at < self.refetch_interval:
            raise UnknownSigningKey(
                f"No signing key {kid!r}; the keys were fetched "
                f"{now - self._fetched_at:.0f} s ago, and are fetched at most every "
                f"{self.refetch_interval:g} s."
            )
        if self._failed_at is not None and now - self._failed_at < self.retry_after_failure:
            raise SigningKeysUnavailable(
                f"fetching the signing keys failed {now - self._failed_at:.1f} s ago "
                f"({self._failure}); they are fetched again {self.retry_after_failure:g} s "
                "after a failure"
            )

    def _wait_for(self, fetch: _Fetch, kid: str) -> jwt.PyJWK:
        """The key once another request's fetch ends, if it ends soon."""
        if not fetch.done.wait(self.wait_for_fetch):
            raise SigningKeysUnavailable(
                f"the signing keys are being fetched for another request (for over "
                f"{self.wait_for_fetch:g} s); only one fetch is made at a time"
            )
        if fetch.error:
            raise SigningKeysUnavailable(f"fetching the signing keys failed ({fetch.error})")
        key = self._keys.get(kid)
        if key is None:
            raise UnknownSigningKey(f"No signing key {kid!r} among the published keys.")
        return key

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        config = self._get_json(self.openid_config_url)
        jwks_uri = config.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise GraphResponseError("the OpenID configuration has no jwks_uri")
        published = self._get_json(jwks_uri).get("keys")
        if not isinstance(published, list):
            raise GraphResponseError("the key set has no keys list")
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in published:
            # Graph signs with RSA; any other key (or one meant for encryption) is not ours
            # to trust.
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid"):
                continue
            if jwk.get("use", "sig") != "sig":
                continue
            try:
                keys[str(jwk["kid"])] = jwt.PyJWK(jwk)
            except jwt.PyJWTError as err:
                logger.warning("Ignoring unreadable signing key %r: %s", jwk.get("kid"), err)
        return keys

    def _get_json(self, url: str) -> dict[str, Any]:
        response = self._session.send(
            "GET",
            url,
            action="notification keys",
            log=new_log(self.log_factory),
            timeout=self.timeout,
            # No retries: a webhook request is waiting, and Graph delivers again after a 5xx.
            max_attempts=1,
        )
        data = response.json()
        if not isinstance(data, dict):
            raise GraphResponseError(f"{url} did not answer with a JSON object")
        return data
