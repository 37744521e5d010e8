"""A short-lived, per-process cache of a source's credentials (source, tenant, decrypted secrets),
keyed by URL token, so a provider's request costs no database round trip before it is stored.

As for signed ingest's (tenants.credentials_cache): expiry of each secret is checked against the
request time; a signature that fails against cached secrets is re-checked once against fresh
ones, so a rotated-in secret works at once; other changes reach every process within
TENANT_CACHE_SECONDS and the one that made them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from core import crypto, secret_refs
from core.errors import Unavailable
from core.ttl_cache import CredentialCache
from tenants.bindings import secret_binding

from .models import Source, SourceSecret
from .presets.base import Secret


@dataclass(frozen=True)
class SourceCredentials:
    source: Source  # with its tenant
    secrets: tuple[tuple[Secret, datetime | None], ...]

    def secrets_at(self, now: datetime) -> list[Secret]:
        return [s for s, expires in self.secrets if expires is None or expires > now]


def fetch(token: str, now: datetime) -> SourceCredentials | None:
    """A live, enabled source of an active tenant with its unexpired secrets, in one query."""
    rows = list(
        SourceSecret.objects.select_related("source__tenant")
        .filter(
            source__token=token,
            source__deleted_at__isnull=True,
            source__enabled=True,
            source__tenant__is_active=True,
        )
        .unexpired(now)
    )
    if not rows:
        return None
    bound = secret_binding(rows[0].source.tenant)
    return SourceCredentials(
        source=rows[0].source,
        secrets=tuple((Secret(_resolved(row, bound)), row.expires_at) for row in rows),
    )


def _resolved(row: SourceSecret, bound: secret_refs.Binding) -> str:
    """The secret, or the one its Secrets Manager reference names (core.secret_refs), if the
    source's tenant may name it."""
    try:
        return secret_refs.resolve(crypto.decrypt(row.secret_encrypted), bound)
    except secret_refs.SecretUnavailable as exc:
        # Not the sender's fault: 503, so the provider retries (they all do).
        raise Unavailable(
            "The source's secret cannot be read right now; nothing was stored. Retry shortly.",
            code="secret_unavailable",
            retry_after=5,
        ) from exc


_cache: CredentialCache[str, SourceCredentials | None] = CredentialCache(
    fetch, ttl=lambda: settings.TENANT_CACHE_SECONDS
)
get = _cache.get
forget = _cache.forget


def refetch_after_mismatch(token: str, now: datetime) -> SourceCredentials | None:
    """Fetch again after a signature did not match: the secret may have been rotated, in
    FormBridge or in Secrets Manager (references are read again too)."""
    with secret_refs.fresh():
        return _cache.refetch_after_mismatch(token, now)
