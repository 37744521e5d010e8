"""FormBridge's Python client: `Client` (and `AsyncClient`) for signed submissions, API-key
events, the inbox and the management API; `webhooks.verify` for receivers of FormBridge's
deliveries; `formbridge_client.django` for a Django site's outbox."""

from . import webhooks
from .aio import AsyncClient
from .client import Client, InboxEvent, InboxPage, __version__, uuid7
from .errors import (
    AuthenticationError,
    ConnectionFailed,
    FormBridgeError,
    InvalidRequest,
    InvalidResponse,
    PermissionDenied,
    RateLimited,
    ServerError,
)

__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConnectionFailed",
    "FormBridgeError",
    "InboxEvent",
    "InboxPage",
    "InvalidRequest",
    "InvalidResponse",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "__version__",
    "uuid7",
    "webhooks",
]
