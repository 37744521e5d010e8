"""Secret references: a credential kept in AWS Secrets Manager, named where a secret would be
stored (`aws-sm://<arn or name>#<json-key>`), so no third-party credential has to live in
FormBridge's database.

A reference is resolved when it is used (a send, a signature check) through boto3, which
honours its own configuration (the credential chain, AWS_ENDPOINT_URL...). Values are cached for
SECRET_REF_CACHE_SECONDS; a credential that stops working (a 401 or 403 from a destination, a
signature that no longer matches at a source) is fetched again at once, so a rotation in Secrets
Manager takes effect on the next try. Plain (Fernet-encrypted) values work as before.

A reference is the instance's authority, not the tenant's (a confused deputy otherwise): every
reference is bound to its tenant (a `Binding`), checked when it is saved and again when it is
resolved. A tenant names secrets under `<SECRET_REFS_PREFIX>/<tenant id>/`, and whatever an
operator granted it. With SECRET_REFS_ROLE_ARN set, each read is made through that role with the
tenant as a session tag, so IAM itself keeps one tenant's reads inside its own path.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from .errors import Invalid
from .wildcards import wildcard

SCHEME = "aws-sm://"
_REFERENCE = re.compile(
    r"aws-sm://(?P<secret_id>[A-Za-z0-9/_+=.@:\-]{1,2048})(#(?P<key>[^#]{1,256}))?"
)
_REGION_IN_ARN = re.compile(r"arn:aws[\w-]*:secretsmanager:(?P<region>[a-z0-9-]+):")
_NAME_IN_ARN = re.compile(r"arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(?P<name>.+)")
# The session tag the reader role's policy puts in its resource path (deploy/aws/services.yaml).
TENANT_TAG = "formbridge-tenant"
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


class NotAllowed(Invalid):
    """A reference to a secret outside its tenant's own path and grants."""

    code = "secret_not_allowed"


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SCHEME)


def secret_name(secret_id: str) -> str:
    """The secret's name, whether the reference gives a name or an ARN (whose name may end in
    Secrets Manager's six-character suffix; a prefix check is unaffected by it)."""
    match = _NAME_IN_ARN.fullmatch(secret_id)
    return match.group("name") if match else secret_id


@dataclass(frozen=True)
class Binding:
    """The tenant a reference belongs to: it may name secrets under the operator's prefix and
    its own id, and those an operator granted it (names or ARNs, `*` a wildcard)."""

    tenant_id: str
    grants: tuple[str, ...] = ()

    @property
    def own_prefix(self) -> str:
        return f"{settings.SECRET_REFS_PREFIX.strip('/')}/{self.tenant_id}/"

    def allows(self, secret_id: str) -> bool:
        if secret_name(secret_id).startswith(self.own_prefix):
            return True
        return any(wildcard(grant).fullmatch(secret_id) for grant in self.grants)


def binding(tenant_id: str, grants: Sequence[str] | None = None) -> Binding:
    return Binding(tenant_id=tenant_id, grants=tuple(grants or ()))


def secret_id_of(value: str) -> str | None:
    """The secret a reference names (its ARN or name), None if it is not a reference."""
    match = _REFERENCE.fullmatch(value)
    return match.group("secret_id") if match else None


def validate(value: str, bound: Binding) -> str:
    """A reference's syntax and its tenant's right to it (the secret itself is read when used,
    not when saved)."""
    secret_id = secret_id_of(value)
    if secret_id is None:
        raise Invalid(
            "a secret reference is aws-sm://<secret ARN or name>#<json key> (the key optional)"
        )
    if not bound.allows(secret_id):
        raise NotAllowed(
            f"a secret reference names a secret under {bound.own_prefix} (or one an operator "
            f"granted to {bound.tenant_id})"
        )
    return value


_clients: dict[tuple[str | None, str, int], Any] = {}
# A tenant's session through SECRET_REFS_ROLE_ARN: its client and when its credentials expire.
_ROLE_SESSION_MARGIN_SECONDS = 300


def _client(region: str | None, tenant_id: str) -> Any:
    import boto3  # only installations that use references pay for it
    from botocore.config import Config

    role = settings.SECRET_REFS_ROLE_ARN
    key = (region, tenant_id if role else "", os.getpid())
    with _lock:
        found = _clients.get(key)
    if found is not None and found[1] > time.time():
        return found[0]
    # One quick retry inside boto3; past it the caller's own retry (a delivery's
    # schedule, a provider's redelivery) takes over.
    config = Config(retries={"total_max_attempts": 2, "mode": "standard"},
                    connect_timeout=3, read_timeout=5)  # fmt: skip
    session, expires = boto3.session.Session(), float("inf")
    if role:
        # IAM keeps this tenant's reads under its own path: the role's policy names the
        # secrets by the session tag (a FormBridge bug cannot read another tenant's).
        answer = session.client("sts", region_name=region, config=config).assume_role(
            RoleArn=role,
            RoleSessionName=f"formbridge-{tenant_id}"[:64],
            Tags=[{"Key": TENANT_TAG, "Value": tenant_id}],
        )["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=answer["AccessKeyId"],
            aws_secret_access_key=answer["SecretAccessKey"],
            aws_session_token=answer["SessionToken"],
        )
        expires = answer["Expiration"].timestamp() - _ROLE_SESSION_MARGIN_SECONDS
    client = session.client("secretsmanager", region_name=region, config=config)
    with _lock:
        _clients[key] = (client, expires)
    return client


def _fetch(reference: str, bound: Binding) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise SecretUnavailable("not a secret reference", transient=False)
    secret_id, key = match.group("secret_id"), match.group("key")
    region = _REGION_IN_ARN.match(secret_id)
    try:
        client = _client(region.group("region") if region else None, bound.tenant_id)
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


def resolve(value: str, bound: Binding) -> str:
    """The secret a stored value stands for: itself, or the referenced secret (cached) if its
    tenant may name it (an operator's grant may have been withdrawn since it was saved)."""
    if not is_reference(value):
        return value
    secret_id = secret_id_of(value)
    if secret_id is not None and not bound.allows(secret_id):
        raise SecretUnavailable(
            f"the reference names a secret outside {bound.own_prefix} that no grant of "
            f"{bound.tenant_id} covers",
            transient=False,
        )
    max_age = _max_age.get(None)
    if max_age is None:
        max_age = settings.SECRET_REF_CACHE_SECONDS
    with _lock:
        cached = _cache.get(value)
    if cached is not None and time.monotonic() - cached[1] < max_age:
        return cached[0]
    resolved = _fetch(value, bound)
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
