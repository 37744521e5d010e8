"""Secret references: a credential kept in AWS Secrets Manager, named where a secret would be
stored (`aws-sm://<arn or name>#<json-key>`), so no third-party credential has to live in
FormBridge's database.

A reference is resolved when it is used (a send, a signature check) through boto3, which
honours its own configuration (the credential chain, AWS_ENDPOINT_URL...). Values are cached for
SECRET_REF_CACHE_SECONDS; a credential that stops working (a 401 or 403 from a destination, a
signature that no longer matches at a source) is fetched again at once, so a rotation in Secrets
Manager takes effect on the next try. Plain (Fernet-encrypted) values work as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings

from .errors import Invalid

SCHEME = "aws-sm://"
_REFERENCE = re.compile(
    r"aws-sm://(?P<secret_id>[A-Za-z0-9/_+=.@:\-]{1,2048})(#(?P<key>[^#]{1,256}))?"
)
_REGION_IN_ARN = re.compile(r"arn:aws[\w-]*:secretsmanager:(?P<region>[a-z0-9-]+):")
# Errors that say the reference itself is wrong (not a passing outage).
_PERMANENT_CODES = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "InvalidRequestException",
     "DecryptionFailure", "ValidationException"}
)  # fmt: skip

_cache: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()
# Set by fresh(): references older than this many seconds are fetched again.
_max_age: contextvars.ContextVar[float | None] = contextvars.ContextVar("secret_ref_max_age")


class SecretUnavailable(Exception):
    """The reference could not be resolved; `transient` when asking again later may work."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SCHEME)


def validate(value: str) -> str:
    """A reference's syntax (it is resolved when used, not when saved)."""
    if not _REFERENCE.fullmatch(value):
        raise Invalid(
            "a secret reference is aws-sm://<secret ARN or name>#<json key> (the key optional)"
        )
    return value


_clients: dict[tuple[str | None, int], Any] = {}


def _client(region: str | None) -> Any:
    import boto3  # only installations that use references pay for it
    from botocore.config import Config

    key = (region, os.getpid())
    with _lock:
        if key not in _clients:
            # One quick retry inside boto3; past it the caller's own retry (a delivery's
            # schedule, a provider's redelivery) takes over.
            config = Config(retries={"total_max_attempts": 2, "mode": "standard"},
                            connect_timeout=3, read_timeout=5)  # fmt: skip
            _clients[key] = boto3.client("secretsmanager", region_name=region, config=config)
        return _clients[key]


def _fetch(reference: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise SecretUnavailable("not a secret reference", transient=False)
    secret_id, key = match.group("secret_id"), match.group("key")
    region = _REGION_IN_ARN.match(secret_id)
    client = _client(region.group("region") if region else None)
    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        raise SecretUnavailable(
            f"Secrets Manager: {code}", transient=code not in _PERMANENT_CODES
        ) from None
    except BotoCoreError as exc:
        raise SecretUnavailable(f"Secrets Manager: {type(exc).__name__}", transient=True) from None
    text = answer.get("SecretString")
    if text is None:
        raise SecretUnavailable("the secret has no SecretString", transient=False)
    if key is None:
        return text
    try:
        value = json.loads(text)[key]
    except (ValueError, KeyError, TypeError):
        raise SecretUnavailable(f"the secret has no JSON key {key!r}", transient=False) from None
    return value if isinstance(value, str) else json.dumps(value)


def resolve(value: str) -> str:
    """The secret a stored value stands for: itself, or the referenced secret (cached)."""
    if not is_reference(value):
        return value
    max_age = _max_age.get(None)
    if max_age is None:
        max_age = settings.SECRET_REF_CACHE_SECONDS
    with _lock:
        cached = _cache.get(value)
    if cached is not None and time.monotonic() - cached[1] < max_age:
        return cached[0]
    resolved = _fetch(value)
    with _lock:
        _cache[value] = (resolved, time.monotonic())
    return resolved


@contextlib.contextmanager
def fresh(max_age: float = 0.0) -> Iterator[None]:
    """Within this block, references resolved more than `max_age` seconds ago are fetched
    again (a signature failed: the secret may have been rotated). Callers bound how often: a
    source's credentials are fetched again at most once a second (core.ttl_cache)."""
    token = _max_age.set(max_age)
    try:
        yield
    finally:
        _max_age.reset(token)


def forget(reference: str | None = None) -> None:
    """Drop one cached reference (its credential was refused), or all of them (and the clients,
    which read their endpoint from the environment when made)."""
    with _lock:
        if reference is None:
            _cache.clear()
            _clients.clear()
        else:
            _cache.pop(reference, None)
