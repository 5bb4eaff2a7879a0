"""The only code in Recorder that speaks HTTP to Graph, Azure AD and the key endpoint.

HTTP and nothing else: no models, no database. Requests are logged through the ExchangeLog
protocol, whose implementation callers pass in; recordings.graph_setup builds the configured
client, token provider and key cache with Recorder's database log.
"""

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
from recordings.graph.http import (
    ExchangeLog,
    ExchangeLogFactory,
    GraphResponse,
    GraphSession,
    TokenProvider,
    default_session,
)
from recordings.graph.keys import NotificationKeys, SigningKeysUnavailable, UnknownSigningKey
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
    make_token_provider,
)

__all__ = [
    "PROFILES",
    "ClientCredentialsTokenProvider",
    "DownloadRefused",
    "DownloadTooSlow",
    "Downloaded",
    "ExchangeLog",
    "ExchangeLogFactory",
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
    "SigningKeysUnavailable",
    "TokenProvider",
    "UnknownSigningKey",
    "build_record_body",
    "check_location",
    "default_session",
    "download_recording",
    "get_profile",
    "make_token_provider",
    "parse_call",
    "parse_notifications",
    "parse_operation",
    "validate_record_spec",
]
