"""FormBridge's Python client: `Client` for signed submissions, API-key events and the inbox;
`formbridge_client.django` for a Django site's outbox."""

from .client import Client, InboxEvent, InboxPage, __version__, uuid7
from .errors import (
    AuthenticationError,
    ConnectionFailed,
    FormBridgeError,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
    ServerError,
)

__all__ = [
    "AuthenticationError",
    "Client",
    "ConnectionFailed",
    "FormBridgeError",
    "InboxEvent",
    "InboxPage",
    "InvalidRequest",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "__version__",
    "uuid7",
]
