"""Ordering keys: which deliveries of a destination must go one at a time, in received order.

A key is a JMESPath expression over the canonical event: `form_id`, `event_type`, `source`, or a
path into the payload (`payload.customer_id`). FIFO destinations, SQS FIFO groups and the
DynamoDB mirror's write sharding all read keys through here.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jmespath

from . import mapping

MAX_KEY_LENGTH = 128
MAX_EXPRESSION_LENGTH = 200


class OrderingKeyInvalid(ValueError):
    pass


@lru_cache(maxsize=256)
def _compiled(expression: str) -> Any:
    return jmespath.compile(expression)


def validate(expression: Any) -> str:
    if not isinstance(expression, str) or not expression.strip():
        raise OrderingKeyInvalid("a JMESPath expression over the event, e.g. form_id")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise OrderingKeyInvalid(f"at most {MAX_EXPRESSION_LENGTH} characters")
    try:
        _compiled(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise OrderingKeyInvalid(f"not a JMESPath expression: {exc}") from None
    return expression


def key_of(expression: str, event: dict[str, Any]) -> str:
    """The key of an event: the expression's value as text (an object as compact JSON), capped;
    an event without a value has the empty key, which is a key like any other. Evaluated within
    the mapping's bounds (steps, CPU, sizes): it runs at fan-out, in the ingest request."""
    try:
        value = mapping.search(_compiled(expression), event)
    except (jmespath.exceptions.JMESPathError, mapping.MappingLimitExceeded):
        value = None
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:MAX_KEY_LENGTH]
