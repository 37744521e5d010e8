"""Writes for sources: create, change, rotate the secret, delete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import crypto, rotation, secret_refs
from core.errors import Invalid
from core.ids import random_token
from tenants.bindings import secret_binding
from tenants.models import Tenant

from . import credentials
from .models import SOURCE_NAME_PATTERN, Source, SourceSecret
from .presets.registry import preset_for, preset_names
from .presets.standard_webhooks import StandardWebhooks, check_secret

TOKEN_PREFIX = "src_"  # noqa: S105 (a prefix, not a secret)
MAX_SECRET_LENGTH = 512
# A secret the receiver chooses (GitHub, Typeform, Shopify custom apps, generic HMAC).
MIN_CHOSEN_SECRET_LENGTH = 16
MAX_ROTATION_OVERLAP_HOURS = 24 * 30


@dataclass(frozen=True)
class SourceWithSecret:
    source: Source
    secret: str | None  # only when generated: shown once


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not re.fullmatch(SOURCE_NAME_PATTERN, name):
        raise Invalid(
            "use 1-32 lowercase letters, digits, '_' or '-', starting with a letter or digit",
            field="name",
        )
    return name


def _check_name_free(tenant: Tenant, name: str, *, other_than: Source | None = None) -> None:
    taken = Source.objects.live().filter(tenant=tenant, name=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    if taken.exists():
        raise Invalid(f"{tenant.id} already has a source {name!r}", field="name")


def _clean_preset(preset: Any) -> str:
    if preset not in preset_names():
        raise Invalid(f"must be one of {', '.join(preset_names())}", field="preset")
    return preset


def _clean_config(preset: str, config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise Invalid("must be an object", field="config")
    return preset_for(preset).clean_config(config)


def _secret_for(tenant: Tenant, preset: str, secret: str | None) -> tuple[str, bool]:
    """The secret to store and whether it was generated (so it is shown once)."""
    if secret is None or secret == "":
        if not preset_for(preset).generates_secret:
            raise Invalid(
                f"required: {preset_for(preset).label} gives you the secret "
                f"({preset_for(preset).setup_help})",
                field="secret",
            )
        return preset_for(preset).generate_secret(), True
    if not isinstance(secret, str) or not secret.isprintable() or secret != secret.strip():
        raise Invalid("must be printable text without surrounding spaces", field="secret")
    if len(secret) > MAX_SECRET_LENGTH:
        raise Invalid(f"at most {MAX_SECRET_LENGTH} characters", field="secret")
    if secret_refs.is_reference(secret):
        try:
            return secret_refs.validate(secret, secret_binding(tenant)), False
        except Invalid as exc:
            raise Invalid(exc.message, field="secret", code=exc.code) from None
    if preset_for(preset).receiver_chooses_secret and len(secret) < MIN_CHOSEN_SECRET_LENGTH:
        # The receiver picks it: a short one is guessed offline from one captured request.
        raise Invalid(
            f"at least {MIN_CHOSEN_SECRET_LENGTH} characters (a random one is best: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))')",
            field="secret",
            code="weak_secret",
        )
    if preset == StandardWebhooks.name:
        check_secret(secret)
    return secret, False


def source_validate(
    *,
    tenant: Tenant,
    name: str,
    preset: str | None = None,
    secret: str | None = None,
    config: dict[str, Any] | None = None,
    source: Source | None = None,
) -> None:
    """Raise Invalid (with its field) as source_create, or source_update of `source`, would,
    writing nothing: the admin form shows the errors next to their fields."""
    name = _clean_name(name)
    _check_name_free(tenant, name, other_than=source)
    if source is None:
        preset = _clean_preset(preset)
        _clean_config(preset, config if config is not None else {})
        if secret or not preset_for(preset).generates_secret:
            _secret_for(tenant, preset, secret)
    else:
        if config is not None:
            _clean_config(source.preset, config)
        if secret:
            _secret_for(source.tenant, source.preset, secret)


def source_create(
    *,
    tenant: Tenant,
    name: str,
    preset: str,
    secret: str | None = None,
    config: dict[str, Any] | None = None,
    enabled: bool = True,
) -> SourceWithSecret:
    """A new source with its URL token and first secret (generated when the preset allows and
    none is given: returned once)."""
    name = _clean_name(name)
    preset = _clean_preset(preset)
    cleaned = _clean_config(preset, config if config is not None else {})
    plaintext, generated = _secret_for(tenant, preset, secret)
    _check_name_free(tenant, name)
    try:
        with transaction.atomic():
            source = Source.objects.create(
                tenant=tenant,
                name=name,
                preset=preset,
                token=TOKEN_PREFIX + random_token(40),
                config=cleaned,
                enabled=enabled,
            )
            SourceSecret.objects.create(source=source, secret_encrypted=crypto.encrypt(plaintext))
    except IntegrityError:  # a concurrent create took the name
        raise Invalid(f"{tenant.id} already has a source {name!r}", field="name") from None
    return SourceWithSecret(source=source, secret=plaintext if generated else None)


def source_update(
    *,
    source: Source,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    enabled: bool | None = None,
) -> Source:
    """Change the name, the preset's options (a merge: a key given changes, null resets it to
    its default) or whether it is enabled. The preset is fixed: a new provider is a new source."""
    if name is not None:
        name = _clean_name(name)
        _check_name_free(source.tenant, name, other_than=source)
        source.name = name
    if config is not None:
        if not isinstance(config, dict):
            raise Invalid("must be an object", field="config")
        merged = {**source.config, **config}
        source.config = _clean_config(
            source.preset, {k: v for k, v in merged.items() if v is not None}
        )
    if enabled is not None:
        source.enabled = bool(enabled)
    source.save()
    credentials.forget(source.token)
    return source


def source_rotate_secret(
    *, source: Source, secret: str | None = None, overlap_hours: float | None = None
) -> SourceWithSecret:
    """Add a secret; the current ones keep verifying for the overlap window (default
    SOURCE_SECRET_ROTATION_OVERLAP_HOURS), so the provider can be switched over without a gap."""
    if overlap_hours is None:
        overlap_hours = settings.SOURCE_SECRET_ROTATION_OVERLAP_HOURS
    if not rotation.overlap_is_valid(overlap_hours, MAX_ROTATION_OVERLAP_HOURS):
        raise Invalid(
            f"must be from 0 to {MAX_ROTATION_OVERLAP_HOURS} hours", field="overlap_hours"
        )
    plaintext, generated = _secret_for(source.tenant, source.preset, secret)
    with transaction.atomic():
        secrets = SourceSecret.objects.filter(source=source)
        rotation.retire(secrets, hours=overlap_hours, now=timezone.now())
        SourceSecret.objects.create(source=source, secret_encrypted=crypto.encrypt(plaintext))
    credentials.forget(source.token)
    return SourceWithSecret(source=source, secret=plaintext if generated else None)


def source_delete(*, source: Source) -> None:
    """Soft-delete: its URL answers 404 from now on; what it stored stays."""
    source.deleted_at = timezone.now()
    source.enabled = False
    source.save()
    credentials.forget(source.token)
