"""The public keys that sign Graph's notification tokens.

Fetched from the OpenID configuration's `jwks_uri` and cached. A token signed with a key not
in the cache makes Recorder look again, but at most once per refetch interval: anyone can send
a token with a made-up `kid`, and each must not cost a round trip to the key endpoint.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from recordings.graph.errors import GraphResponseError
from recordings.graph.http import ExchangeLogFactory, GraphSession, default_session, new_log

logger = logging.getLogger(__name__)

# A webhook request waits on this fetch, and Graph expects an answer within seconds.
MAX_TIMEOUT = 5.0


class UnknownSigningKey(LookupError):
    """No RSA key with this kid, even after looking again (or looking again is not due yet)."""


class NotificationKeys:
    """`log_factory` gives each request to the key endpoints its ExchangeLog; without it the
    requests go unlogged."""

    def __init__(
        self,
        openid_config_url: str,
        timeout: float = MAX_TIMEOUT,
        refetch_interval: float = 30,
        *,
        session: GraphSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        log_factory: ExchangeLogFactory | None = None,
    ) -> None:
        self.openid_config_url = openid_config_url
        self.timeout = min(timeout, MAX_TIMEOUT)
        self.refetch_interval = refetch_interval
        self._session = session or default_session()
        self._clock = clock
        self.log_factory = log_factory
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded = False
        self._fetched_at = 0.0

    def signing_key(self, kid: str) -> jwt.PyJWK:
        """The RSA key with this kid. Raises UnknownSigningKey, or a GraphError when the keys
        could not be fetched (then the sender should try again later)."""
        # The common case takes no lock: the dict is replaced whole, never changed in place.
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            # Another thread may have fetched while this one waited.
            key = self._keys.get(kid)
            if key is not None:
                return key
            now = self._clock()
            if self._loaded and now - self._fetched_at < self.refetch_interval:
                raise UnknownSigningKey(
                    f"No signing key {kid!r}; the keys were fetched "
                    f"{now - self._fetched_at:.0f} s ago, and are fetched at most every "
                    f"{self.refetch_interval:g} s."
                )
            # Counted from the attempt, so a failing endpoint is not asked on every request
            # either. Until a first fetch succeeds there is nothing to verify with, so that
            # one is always tried.
            self._fetched_at = now
            self._keys = self._fetch()
            self._loaded = True
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
