"""The only code in Recorder that speaks HTTP to Graph, Azure AD and the key endpoint."""

from recordings.graph.client import GraphClient, RecordResult
from recordings.graph.download import (
    Downloaded,
    DownloadRefused,
    DownloadTooSlow,
    check_location,
    download_recording,
)
from recordings.graph.errors import (
    GraphAuthError,
    GraphError,
    GraphNetworkError,
    GraphNotFoundError,
    GraphRequestError,
    GraphResponseError,
    GraphServiceError,
    GraphThrottledError,
)
from recordings.graph.http import ExchangeLog, GraphResponse, GraphSession, default_session
from recordings.graph.keys import NotificationKeys, UnknownSigningKey, notification_keys
from recordings.graph.log import DatabaseExchangeLog
from recordings.graph.operations import (
    ParsedCall,
    ParsedNotification,
    ParsedOperation,
    PayloadError,
    parse_call,
    parse_notifications,
    parse_operation,
)
from recordings.graph.profiles import (
    PROFILES,
    ProfileRules,
    PromptSpec,
    RecordSpec,
    build_record_body,
    get_profile,
    validate_record_spec,
)
from recordings.graph.tokens import (
    ClientCredentialsTokenProvider,
    MsalTokenProvider,
    TokenProvider,
    token_provider_from_settings,
)

__all__ = [
    "PROFILES",
    "ClientCredentialsTokenProvider",
    "DatabaseExchangeLog",
    "DownloadRefused",
    "DownloadTooSlow",
    "Downloaded",
    "ExchangeLog",
    "GraphAuthError",
    "GraphClient",
    "GraphError",
    "GraphNetworkError",
    "GraphNotFoundError",
    "GraphRequestError",
    "GraphResponse",
    "GraphResponseError",
    "GraphServiceError",
    "GraphSession",
    "GraphThrottledError",
    "MsalTokenProvider",
    "NotificationKeys",
    "ParsedCall",
    "ParsedNotification",
    "ParsedOperation",
    "PayloadError",
    "ProfileRules",
    "PromptSpec",
    "RecordResult",
    "RecordSpec",
    "TokenProvider",
    "UnknownSigningKey",
    "build_record_body",
    "check_location",
    "default_session",
    "download_recording",
    "get_profile",
    "notification_keys",
    "parse_call",
    "parse_notifications",
    "parse_operation",
    "token_provider_from_settings",
    "validate_record_spec",
]
