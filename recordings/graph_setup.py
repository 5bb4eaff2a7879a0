"""Recorder's Graph objects as the settings configure them, every exchange of theirs logged.

recordings.graph speaks HTTP and nothing else; here it meets the settings and the database.
The token provider and the key cache are made once per configuration and shared by every
caller in the process (one cached token, one key set), and both log each request they send
as a GraphExchange row.
"""

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import (
    GraphClient,
    NotificationKeys,
    ProfileRules,
    TokenProvider,
    default_session,
    get_profile,
    make_token_provider,
)

_providers: dict[tuple[str, ...], TokenProvider] = {}
_providers_lock = threading.Lock()
_keys: dict[tuple[str, float, float], NotificationKeys] = {}
_keys_lock = threading.Lock()


def profile_rules() -> ProfileRules:
    """The deployment's Graph profile (GRAPH_API_PROFILE): what its record action takes."""
    return get_profile(settings.GRAPH_API_PROFILE)


def graph_client() -> GraphClient:
    """A client for the configured Graph and profile, on the shared provider and session."""
    return GraphClient(
        settings.GRAPH_API_BASE_URL,
        profile_rules(),
        token_provider_from_settings(),
        default_session(),
    )


def token_provider_from_settings() -> TokenProvider:
    """The process's provider for the configured app registration.

    MSAL for an https authority (Azure AD); plain client credentials for an http one (the
    emulator).
    """
    config = {
        "authority_url": settings.GRAPH_AUTHORITY_URL,
        "tenant_id": settings.GRAPH_TENANT_ID,
        "client_id": settings.GRAPH_CLIENT_ID,
        "client_secret": settings.GRAPH_CLIENT_SECRET,
        "scope": settings.GRAPH_SCOPE,
    }
    key = tuple(config.values())
    with _providers_lock:
        provider = _providers.get(key)
        if provider is None:
            try:
                provider = make_token_provider(
                    **config, session=default_session(), log_factory=DatabaseExchangeLog
                )
            except ValueError as err:
                raise ImproperlyConfigured(
                    "GRAPH_AUTHORITY_URL must be an http or https URL; "
                    f"got {settings.GRAPH_AUTHORITY_URL!r}."
                ) from err
            _providers[key] = provider
        return provider


def notification_keys() -> NotificationKeys:
    """The process's key cache for the configured OpenID configuration (the webhook's)."""
    config = (
        settings.NOTIFICATION_OPENID_CONFIG_URL,
        settings.NOTIFICATION_KEYS_TIMEOUT,
        settings.NOTIFICATION_KEYS_REFETCH_SECONDS,
    )
    with _keys_lock:
        keys = _keys.get(config)
        if keys is None:
            keys = _keys[config] = NotificationKeys(*config, log_factory=DatabaseExchangeLog)
        return keys
