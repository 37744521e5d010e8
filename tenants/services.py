"""Writes for tenants and credentials. Plaintext secrets and keys are returned once, not kept."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from core import crypto, rotation
from core.errors import Invalid
from core.ids import random_token

from . import credentials_cache
from .models import ApiKey, ApiKeyScope, SigningSecret, Tenant

SIGNING_SECRET_PREFIX = "fbs_"  # noqa: S105 (a prefix, not a secret)
API_KEY_PREFIX = "fb_live_"
API_KEY_RANDOM_LENGTH = 40
# How many random characters of a key are kept (in clear) to name it: `fb_live_AbCd1234`.
API_KEY_SHOWN_LENGTH = 8
MIN_SECRET_LENGTH = 16
# last_used_at is a hint for operators; writing it more often than this would cost a write per call.
API_KEY_TOUCH_INTERVAL = timedelta(seconds=60)


# A rotation overlap longer than 90 days is a second permanent secret, not an overlap.
MAX_ROTATION_OVERLAP_HOURS = 90 * 24


class CredentialError(Invalid):
    """A tenant or credential request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class TenantWithSecret:
    tenant: Tenant
    signing_secret: str


@dataclass(frozen=True)
class ApiKeyWithPlaintext:
    api_key: ApiKey
    key: str


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _new_signing_secret() -> str:
    return SIGNING_SECRET_PREFIX + random_token(43)


def _validate_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET_LENGTH:
        raise CredentialError(f"A signing secret needs at least {MIN_SECRET_LENGTH} characters.")
    if not secret.isprintable() or secret != secret.strip():
        raise CredentialError("A signing secret must be printable, without surrounding spaces.")


def tenant_create(*, tenant_id: str, name: str = "", secret: str | None = None) -> TenantWithSecret:
    """Create a tenant with one signing secret (generated unless given); formbridge.onboarding
    adds its inbox."""
    tenant = Tenant(id=tenant_id, name=name or tenant_id)
    tenant.full_clean(validate_unique=False)
    if Tenant.objects.filter(pk=tenant_id).exists():
        raise CredentialError(f"Tenant {tenant_id!r} already exists.")
    plaintext = secret if secret is not None else _new_signing_secret()
    _validate_secret(plaintext)
    with transaction.atomic():
        tenant.save(force_insert=True)
        SigningSecret.objects.create(tenant=tenant, secret_encrypted=crypto.encrypt(plaintext))
    credentials_cache.forget(tenant_id)
    return TenantWithSecret(tenant=tenant, signing_secret=plaintext)


def tenant_rotate_secret(
    *, tenant: Tenant, overlap_hours: float | None = None, secret: str | None = None
) -> str:
    """Add a new signing secret; the current ones keep verifying for the overlap window."""
    if overlap_hours is None:
        overlap_hours = settings.SIGNING_SECRET_ROTATION_OVERLAP_HOURS
    if not rotation.overlap_is_valid(overlap_hours, MAX_ROTATION_OVERLAP_HOURS):
        raise CredentialError(
            f"The overlap window must be from 0 to {MAX_ROTATION_OVERLAP_HOURS} hours."
        )
    plaintext = secret if secret is not None else _new_signing_secret()
    _validate_secret(plaintext)
    with transaction.atomic():
        secrets = SigningSecret.objects.filter(tenant=tenant)
        rotation.retire(secrets, hours=overlap_hours, now=timezone.now())
        SigningSecret.objects.create(tenant=tenant, secret_encrypted=crypto.encrypt(plaintext))
    credentials_cache.forget(tenant.id)
    return plaintext


def tenant_set_active(*, tenant: Tenant, is_active: bool) -> Tenant:
    tenant.is_active = is_active
    tenant.save(update_fields=["is_active", "updated_at"])
    credentials_cache.forget(tenant.id)
    return tenant


def api_key_create(
    *, tenant: Tenant, name: str = "", scopes: list[str] | None = None
) -> ApiKeyWithPlaintext:
    """Create an API key; the returned plaintext is the only copy there will ever be."""
    scopes = list(dict.fromkeys(scopes or [ApiKeyScope.INGEST]))
    unknown = sorted(set(scopes) - set(ApiKeyScope.values))
    if unknown:
        raise CredentialError(
            f"Unknown scope(s) {', '.join(unknown)}; choose from {', '.join(ApiKeyScope.values)}."
        )
    random_part = random_token(API_KEY_RANDOM_LENGTH)
    raw_key = API_KEY_PREFIX + random_part
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=API_KEY_PREFIX + random_part[:API_KEY_SHOWN_LENGTH],
        key_hash=hash_api_key(raw_key),
        scopes=scopes,
    )
    return ApiKeyWithPlaintext(api_key=api_key, key=raw_key)


def api_key_revoke(*, prefix: str) -> ApiKey:
    """Revoke at once: the next request with this key fails."""
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    if api_key is None:
        raise CredentialError(f"No API key with prefix {prefix!r}.")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
    return api_key


def api_key_touch(*, api_key: ApiKey, now: datetime) -> None:
    """Record use, at most once a minute per key."""
    if api_key.last_used_at is None or now - api_key.last_used_at >= API_KEY_TOUCH_INTERVAL:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


# --- grants: what FormBridge's own authority may reach for a tenant (operators only) ---

GRANT_FIELDS = {"secret": "secret_grants", "target": "target_grants", "sender": "mail_senders"}
_GRANT_PATTERN = re.compile(r"[A-Za-z0-9/_+=.@:\-*]{1,2048}")
# A grant that is only wildcards would hand the tenant everything the instance can reach.
_MEANINGFUL = re.compile(r"[^*:]")


def clean_grant(kind: str, pattern: str) -> str:
    if kind not in GRANT_FIELDS:
        raise CredentialError(f"A grant is of a {' or a '.join(GRANT_FIELDS)}.")
    pattern = (pattern or "").strip()
    if kind == "sender":
        try:
            validate_email(pattern)
        except ValidationError:
            raise CredentialError("A sender is an e-mail address (sales@acme.example).") from None
        return pattern.lower()
    if not _GRANT_PATTERN.fullmatch(pattern) or not _MEANINGFUL.search(pattern.replace("arn", "")):
        raise CredentialError(
            "A grant is a name or an ARN, `*` a wildcard "
            "(arn:aws:sqs:eu-west-1:123456789012:acme-*)."
        )
    if kind == "target" and not pattern.startswith("arn:"):
        raise CredentialError("An AWS target is granted by its ARN (arn:aws:s3:::bucket/prefix/*).")
    return pattern


def tenant_grant(*, tenant: Tenant, kind: str, pattern: str) -> list[str]:
    """Let the tenant's references (kind "secret") or AWS destinations (kind "target") name
    what `pattern` matches; returns the tenant's grants of that kind."""
    pattern = clean_grant(kind, pattern)
    field = GRANT_FIELDS[kind]
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        grants = list(getattr(tenant, field))
        if pattern not in grants:
            grants.append(pattern)
            setattr(tenant, field, grants)
            tenant.save(update_fields=[field, "updated_at"])
    return grants


def tenant_revoke(*, tenant: Tenant, kind: str, pattern: str) -> list[str]:
    """Withdraw a grant: what it covered fails at its next use (a permanent failure at send)."""
    if kind not in GRANT_FIELDS:
        raise CredentialError(f"A grant is of a {' or a '.join(GRANT_FIELDS)}.")
    field = GRANT_FIELDS[kind]
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        grants = list(getattr(tenant, field))
        if pattern not in grants:
            raise CredentialError(f"{tenant.id} has no {kind} grant {pattern!r}.")
        grants.remove(pattern)
        setattr(tenant, field, grants)
        tenant.save(update_fields=[field, "updated_at"])
    return grants
