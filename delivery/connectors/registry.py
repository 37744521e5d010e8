"""Every connector by Destination.kind. Adding one is its module plus one line in CONNECTORS.

Kinds, labels and push/pull are read from here (the admin's choices, validation, the engine's
claim), never spelled elsewhere.
"""

from __future__ import annotations

from functools import cache

from .base import Connector
from .dynamodb import DynamoDbConnector
from .email import EmailConnector
from .eventbridge import EventBridgeConnector
from .hubspot import HubSpotConnector
from .inbox import InboxConnector
from .rest import RestConnector
from .s3 import S3Connector
from .salesforce import SalesforceConnector
from .slack import SlackConnector
from .sqs import SqsConnector

CONNECTORS: tuple[type[Connector], ...] = (
    RestConnector,
    InboxConnector,
    DynamoDbConnector,
    S3Connector,
    EventBridgeConnector,
    SqsConnector,
    SlackConnector,
    EmailConnector,
    HubSpotConnector,
    SalesforceConnector,
)

_BY_KIND: dict[str, type[Connector]] = {cls.kind: cls for cls in CONNECTORS}
DEFAULT_KIND = RestConnector.kind
# Kinds whose deliveries wait for a consumer's pull: the engine never claims them.
PULL_KINDS: tuple[str, ...] = tuple(cls.kind for cls in CONNECTORS if cls.waits_for_pull)


def available_kinds() -> tuple[str, ...]:
    return tuple(_BY_KIND)


def kind_choices() -> list[tuple[str, str]]:
    return [(cls.kind, cls.label) for cls in CONNECTORS]


def is_pull(kind: str) -> bool:
    return kind in PULL_KINDS


@cache
def connector_for(kind: str) -> Connector:
    """One instance per kind and process (it may hold a connection pool)."""
    try:
        return _BY_KIND[kind]()
    except KeyError:
        raise ValueError(
            f"no connector for kind {kind!r}; available: {', '.join(available_kinds())}"
        ) from None


def shown_config(kind: str, config: dict) -> dict:
    """A destination's config as shown back: a key that is a credential keeps only its origin."""
    secret_keys = _BY_KIND[kind].secret_config_keys if kind in _BY_KIND else ()
    return {
        key: _redacted_url(value) if key in secret_keys else value for key, value in config.items()
    }


def _redacted_url(value: object) -> str:
    text = str(value)
    scheme, _, rest = text.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/[redacted]" if rest else "[redacted]"


def config_help() -> str:
    """Each kind's config keys, for the admin's form (read from the connectors themselves)."""
    return "; ".join(f"{cls.kind}: {cls.config_help}" for cls in CONNECTORS)
