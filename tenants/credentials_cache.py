"""A short-lived, per-process cache of ingest credentials (tenant row + decrypted secrets).

The signed-ingest hot path would otherwise spend a database round trip per request on them.
Safety of the cache:
- each secret keeps its expires_at, checked against the request time, so expiry stays exact;
- a signature that fails against cached secrets is re-checked against fresh ones (at most once a
  second per tenant), so a secret added by rotation works at once;
- other changes (disabling a tenant, limits) reach every process within TENANT_CACHE_SECONDS, and
  the process that made them at once (services call `forget`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from core import crypto
from core.ttl_cache import CredentialCache

from .models import SigningSecret, Tenant

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class IngestCredentials:
    tenant: Tenant
    secrets: tuple[tuple[str, datetime | None], ...]  # (plaintext, expires_at)

    def secrets_at(self, now: datetime) -> tuple[str, ...]:
        return tuple(s for s, expires in self.secrets if expires is None or expires > now)


def fetch(tenant_id: str, now: datetime) -> IngestCredentials | None:
    """The tenant and its unexpired signing secrets, in one query."""
    rows = list(
        SigningSecret.objects.select_related("tenant").filter(tenant_id=tenant_id).unexpired(now)
    )
    if not rows:
        return None
    return IngestCredentials(
        tenant=rows[0].tenant,
        secrets=tuple((crypto.decrypt(row.secret_encrypted), row.expires_at) for row in rows),
    )


_cache: CredentialCache[str, IngestCredentials | None] = CredentialCache(
    fetch, ttl=lambda: settings.TENANT_CACHE_SECONDS, max_entries=MAX_ENTRIES
)
# (tenant_id, now) -> (credentials or None, whether they came from the cache)
get = _cache.get
# (tenant_id, now) -> fresh credentials after a cached check failed, None if fetched just now
refetch_after_mismatch = _cache.refetch_after_mismatch
forget = _cache.forget
