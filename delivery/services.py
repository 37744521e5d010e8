"""Writes for delivery: destinations, routing backfill, replay, test sends."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import crypto, rotation
from core.errors import Invalid, Unavailable
from core.ids import new_uuid7
from tenants.models import Tenant

from . import aio, health, lifecycle, routing, signing, validation, wakeup
from .connectors.base import Job, Outcome
from .connectors.registry import PULL_KINDS, connector_for, is_pull
from .events import sample_event
from .fan_out import delivery_rows
from .models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    AuthMode,
    Delivery,
    DeliveryStatus,
    Destination,
)
from .routes import Route, forget_routes
from .snapshots import destination_snapshot, refused_outcome

logger = logging.getLogger(__name__)


# --- destinations ---


# The longest overlap a destination's rotation accepts (a month: receivers owned by others).
MAX_ROTATION_OVERLAP_HOURS = 24 * 30


@dataclass(frozen=True)
class DestinationRotation:
    signing_secret: str  # the new one, shown once
    previous_secrets_expire_at: list[datetime]  # when the old ones stop signing


@dataclass(frozen=True)
class DestinationWithSecret:
    destination: Destination
    signing_secret: str | None  # shown once when generated


# Settings a caller may give, with their defaults on a new destination.
DESTINATION_DEFAULTS: dict[str, Any] = {
    "kind": "rest",
    "config": None,
    "auth_mode": "none",
    "auth_config": None,
    "filter": None,
    "retry_schedule": None,
    "max_attempts": None,
    "timeout_seconds": 15.0,
    "connect_timeout_seconds": 5.0,
    "max_concurrency": 10,
    "rate_limit_per_second": 0,
    "files_as": "link",
    "ordering_key": "",
}


def _cleaned_settings(tenant: Tenant, settings: dict[str, Any], auth_secret: str) -> dict[str, Any]:
    """Every destination setting validated together (they depend on each other)."""
    kind = validation.clean_kind(settings["kind"])
    config = validation.clean_config(kind, settings["config"] or {})
    validation.clean_targets(tenant, kind, config)
    schedule, max_attempts = validation.clean_retry(
        settings["retry_schedule"], settings["max_attempts"]
    )
    timeout, connect = validation.clean_timeouts(
        settings["timeout_seconds"], settings["connect_timeout_seconds"]
    )
    return {
        "kind": kind,
        "config": config,
        "auth_mode": settings["auth_mode"],
        "auth_config": validation.clean_auth(
            tenant, kind, config, settings["auth_mode"], settings["auth_config"] or {}, auth_secret
        ),
        "filter": validation.clean_filter(settings["filter"]),
        "retry_schedule": schedule,
        "max_attempts": max_attempts,
        "timeout_seconds": timeout,
        "connect_timeout_seconds": connect,
        "max_concurrency": validation.clean_limit("max_concurrency", settings["max_concurrency"]),
        "rate_limit_per_second": validation.clean_limit(
            "rate_limit_per_second", settings["rate_limit_per_second"]
        ),
        "files_as": validation.clean_files_as(settings["files_as"]),
        "ordering_key": validation.clean_ordering_key(kind, settings["ordering_key"]),
    }


def _signing_secret(signing_secret: str | None, generate: bool) -> str | None:
    if generate:
        return signing.generate_secret()
    if signing_secret:
        validation.clean_signing_secret(signing_secret)
    return signing_secret


def _check_name_free(tenant: Tenant, name: str, *, other_than: Destination | None = None) -> str:
    name = validation.clean_name(name)
    taken = Destination.objects.live().filter(tenant=tenant, name=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    if taken.exists():
        raise validation.DestinationInvalid("name", f"{tenant.id} already has {name!r}")
    return name


def destination_validate(
    *,
    tenant: Tenant,
    name: str,
    auth_secret: str | None = None,
    destination: Destination | None = None,
    url: str | None = None,
    config: dict[str, Any] | None = None,
    enabled: bool | None = None,
    **settings: Any,
) -> None:
    """Raise DestinationInvalid as destination_create (or _update of `destination`) would, without
    writing anything: forms call it to show errors next to their fields. The arguments are the
    ones the form saves with (`auth_secret` None keeps a stored one); `enabled` cannot be
    invalid."""
    _check_name_free(tenant, name, other_than=destination)
    if destination is None:
        _cleaned_settings(
            tenant, _settings_after(None, settings, config=config, url=url), auth_secret or ""
        )
    else:
        _checked_update(destination, settings, config=config, url=url, auth_secret=auth_secret)


def _settings_after(
    destination: Destination | None,
    settings: dict[str, Any],
    *,
    config: dict[str, Any] | None,
    url: str | None,
) -> dict[str, Any]:
    """Every setting as creating (no destination) or updating `destination` would leave it,
    before validation: the defaults or the stored values, with the given ones on top."""
    if destination is None:
        return {**DESTINATION_DEFAULTS, **settings, "config": _with_url(config, url)}
    merged = {**{f: getattr(destination, f) for f in DESTINATION_DEFAULTS}, **settings}
    if config is not None or url is not None:
        merged["config"] = _config_patched(destination, config, url)
    return merged


def _with_url(config: dict[str, Any] | None, url: str | None) -> dict[str, Any] | None:
    """`url` is the shorthand of config.url that all three entry points offer."""
    if url is None:
        return config
    return {**(config or {}), "url": url}


def destination_create(
    *,
    tenant: Tenant,
    name: str,
    url: str | None = None,
    enabled: bool = True,
    auth_secret: str = "",
    signing_secret: str | None = None,
    generate_signing_secret: bool = False,
    **settings: Any,
) -> DestinationWithSecret:
    """Validate and create a destination; a generated signing secret is returned once.
    `settings` are the keys of DESTINATION_DEFAULTS; a disabled one routes nothing until enabled."""
    unknown = set(settings) - set(DESTINATION_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown destination settings: {', '.join(sorted(unknown))}")
    name = _check_name_free(tenant, name)
    config = settings.pop("config", None)
    cleaned = _cleaned_settings(
        tenant, _settings_after(None, settings, config=config, url=url), auth_secret
    )
    secret = _signing_secret(signing_secret, generate_signing_secret)
    destination = Destination.objects.create(
        tenant=tenant,
        name=name,
        **health.initial(enabled=enabled, now=timezone.now()),
        auth_secret_encrypted=crypto.encrypt(auth_secret) if auth_secret else "",
        signing_secret_encrypted=crypto.encrypt(secret) if secret else "",
        **cleaned,
    )
    forget_routes(tenant.id)
    return DestinationWithSecret(
        destination=destination, signing_secret=secret if generate_signing_secret else None
    )


_UNCHANGED: Any = object()


def _config_patched(
    destination: Destination, patch: dict[str, Any] | None, url: str | None
) -> dict[str, Any]:
    """The stored config with a JSON merge patch (RFC 7386) applied: a key given changes, a
    null removes it. Custom headers are often credentials: when the URL moves to another
    scheme, host or port they go with it only if this same change gives them."""
    if patch is not None and not isinstance(patch, dict):
        raise validation.DestinationInvalid("config", "must be an object")
    patch = _with_url(patch, url) or {}
    config = {**destination.config, **patch}
    if "url" in patch and "headers" not in patch and sends_elsewhere(destination, patch["url"]):
        config.pop("headers", None)
    return {key: value for key, value in config.items() if value is not None}


def _checked_update(
    destination: Destination,
    changes: dict[str, Any],
    *,
    config: dict[str, Any] | None,
    url: str | None,
    auth_secret: str | None,
) -> tuple[dict[str, Any], str]:
    """The settings and auth secret `destination` would have after these changes, validated;
    destination_update saves them, destination_validate only checks."""
    if "kind" in changes and changes["kind"] != destination.kind:
        raise validation.DestinationInvalid("kind", "cannot change; create a new destination")
    merged = _settings_after(destination, changes, config=config, url=url)
    if merged["auth_mode"] == AuthMode.NONE and connector_for(destination.kind).uses_auth_modes:
        auth_secret = ""
    kept_secret = (
        crypto.decrypt(destination.auth_secret_encrypted)
        if destination.auth_secret_encrypted
        else ""
    )
    if kept_secret and auth_secret is None and _credentials_move(destination, merged):
        # Else a key that may edit could point the destination at its own host and read the
        # write-only secret off the wire (Stripe and GitHub bind webhook secrets to a URL too).
        raise validation.DestinationInvalid(
            "auth_secret",
            "the destination now sends to another host: give its secret again "
            "(a stored secret only ever goes to the host it was entered for)",
        )
    secret_now = kept_secret if auth_secret is None else auth_secret
    return _cleaned_settings(destination.tenant, merged, secret_now), secret_now


def destination_update(
    *,
    destination: Destination,
    name: str | None = None,
    url: str | None = None,
    config: dict[str, Any] | None = None,
    enabled: bool | None = None,
    auth_secret: str | None = None,
    signing_secret: Any = _UNCHANGED,
    generate_signing_secret: bool = False,
    **changes: Any,
) -> DestinationWithSecret:
    """Change some settings; the result is validated as a whole, as on creation.

    `config` is a merge patch of the stored one (`url` its shorthand). Secrets are write-only:
    None keeps the stored one; `signing_secret=""` stops signing. `enabled` disables, or enables
    again with health reset (destination_set_enabled).
    """
    unknown = set(changes) - set(DESTINATION_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown destination settings: {', '.join(sorted(unknown))}")
    cleaned, secret_now = _checked_update(
        destination, changes, config=config, url=url, auth_secret=auth_secret
    )
    if name is not None:
        destination.name = _check_name_free(destination.tenant, name, other_than=destination)
    for field, value in cleaned.items():
        setattr(destination, field, value)
    destination.auth_secret_encrypted = crypto.encrypt(secret_now) if secret_now else ""
    new_signing = None
    replaced = generate_signing_secret or signing_secret is not _UNCHANGED
    if replaced:
        new_signing = _signing_secret(signing_secret or None, generate_signing_secret)
        destination.signing_secret_encrypted = crypto.encrypt(new_signing) if new_signing else ""
    with transaction.atomic():
        if replaced:  # at once, with no overlap (destination_rotate_secret overlaps)
            rotation.retire(destination.previous_signing_secrets.all(), hours=0, now=timezone.now())
        destination.save()
        if enabled is not None and enabled != destination.enabled:
            destination = destination_set_enabled(destination=destination, enabled=enabled)
    forget_routes(destination.tenant_id)
    return DestinationWithSecret(
        destination=destination, signing_secret=new_signing if generate_signing_secret else None
    )


def _origin(url: Any) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        return (parts.scheme, (parts.hostname or ""), parts.port) if parts else None
    except ValueError:
        return None


def sends_elsewhere(destination: Destination, url: str) -> bool:
    """Does `url` point at another scheme, host or port than the destination does now?"""
    return _origin(url) != _origin(destination.config.get("url"))


def _credentials_move(destination: Destination, changes: dict[str, Any]) -> bool:
    """Would these settings send the stored credentials to another scheme, host or port?"""
    targets = [("config", key) for key in connector_for(destination.kind).credential_targets]
    moves = [
        (changes[field].get(key), getattr(destination, field).get(key))
        for field, key in (*targets, ("auth_config", "token_url"))
        if changes.get(field) is not None
    ]
    return any(_origin(new) != _origin(old) for new, old in moves)


def destination_rotate_secret(
    *, destination: Destination, overlap_hours: float | None = None
) -> DestinationRotation:
    """A new signing secret, shown once. The current one keeps signing beside it until the
    overlap ends (default DESTINATION_SECRET_ROTATION_OVERLAP_HOURS): every webhook meanwhile
    carries both signatures, so each receiver switches to the new secret when it is ready."""
    if overlap_hours is None:
        overlap_hours = settings.DESTINATION_SECRET_ROTATION_OVERLAP_HOURS
    if not rotation.overlap_is_valid(overlap_hours, MAX_ROTATION_OVERLAP_HOURS):
        raise validation.DestinationInvalid(
            "overlap_hours", f"must be from 0 to {MAX_ROTATION_OVERLAP_HOURS} hours"
        )
    if not connector_for(destination.kind).signs:
        raise validation.DestinationInvalid(
            "kind", f"a {destination.kind} destination does not sign what it sends"
        )
    secret, now = signing.generate_secret(), timezone.now()
    with transaction.atomic():
        previous = destination.previous_signing_secrets
        ends = rotation.retire(previous.all(), hours=overlap_hours, now=now)
        if destination.signing_secret_encrypted and overlap_hours > 0:
            previous.create(secret_encrypted=destination.signing_secret_encrypted, expires_at=ends)
        destination.signing_secret_encrypted = crypto.encrypt(secret)
        destination.save(update_fields=["signing_secret_encrypted", "updated_at"])
    still = destination.previous_signing_secrets.unexpired(now).order_by("-expires_at")
    return DestinationRotation(
        signing_secret=secret,
        previous_secrets_expire_at=[row.expires_at for row in still],
    )


def destination_delete(*, destination: Destination) -> int:
    """Soft-delete: history stays, routing stops, its open deliveries are cancelled (returned)."""
    now = timezone.now()
    with transaction.atomic():
        destination.deleted_at = now
        health.deleted(destination, now)
        destination.save()
        cancelled = lifecycle.cancel(
            Delivery.objects.filter(destination=destination, status__in=OPEN_STATUSES),
            reason="the destination was deleted",
            now=now,
        )
    forget_routes(destination.tenant_id)
    return cancelled


def destination_set_enabled(*, destination: Destination, enabled: bool) -> Destination:
    """Disable, or enable again: health resets and parked deliveries are scheduled at once."""
    now = timezone.now()
    with transaction.atomic():
        if enabled:
            health.enable(destination)
        else:
            health.disable(destination, now)
        destination.save()
        if enabled and not is_pull(destination.kind):
            parked = lifecycle.resume(Delivery.objects.filter(destination=destination), now=now)
            if parked:
                transaction.on_commit(wakeup.request_drain)
    forget_routes(destination.tenant_id)
    return destination


def destination_test(*, destination: Destination) -> Outcome:
    """Send a synthetic event now, outside the delivery tables, and return what happened."""
    if is_pull(destination.kind):
        raise Invalid(f"A {destination.kind!r} destination is pulled by its consumer, not sent to.")
    snapshot = destination_snapshot(destination)
    if snapshot.unusable and snapshot.unusable_transient:
        # Nobody's fault and worth another try: as a source whose secret cannot be read.
        raise Unavailable(snapshot.unusable, code=snapshot.unusable_code, retry_after=5)
    refused = refused_outcome(snapshot)
    if refused is not None:
        return refused
    event = sample_event(tenant_id=destination.tenant_id)
    job = Job(
        delivery_id=new_uuid7(),
        attempt_number=1,
        submission_id="test",
        event=event,
        destination=snapshot,
    )
    return aio.run(connector_for(destination.kind).send(job))


# --- replay ---

REPLAY_STATUSES = {
    "dead": (DeliveryStatus.DEAD,),
    "retrying": (DeliveryStatus.RETRYING,),
    "all": (DeliveryStatus.DEAD, DeliveryStatus.RETRYING, *FINAL_STATUSES),
}
REPLAY_CHUNK = 500


@dataclass(frozen=True)
class ReplayResult:
    requeued: int
    created: int
    dry_run: bool


def _submission_filters(
    *, submission_ids: Iterable[str] | None, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if submission_ids:
        filters["submission_id__in"] = list(submission_ids)
    if since:
        filters["received_at__gte"] = since
    if until:
        filters["received_at__lt"] = until
    return filters


def deliveries_replay(
    *,
    tenant: Tenant | None = None,
    submission_ids: Iterable[str] | None = None,
    delivery_ids: Iterable[Any] | None = None,
    destination: Destination | None = None,
    status: str = "dead",
    since: datetime | None = None,
    until: datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Queue chosen deliveries again through the normal path; with a destination, also create
    its missing deliveries (a destination added after the submissions arrived)."""
    if status not in REPLAY_STATUSES:
        raise Invalid(f"must be one of {', '.join(REPLAY_STATUSES)}", field="status")
    filters = _submission_filters(submission_ids=submission_ids, since=since, until=until)
    chosen = Delivery.objects.filter(
        status__in=REPLAY_STATUSES[status],
        submission__erased_at__isnull=True,  # an erased submission has nothing left to send
        **{f"submission__{name}": value for name, value in filters.items()},
    )
    if tenant is not None:
        chosen = chosen.filter(tenant=tenant)
    if destination is not None:
        chosen = chosen.filter(destination=destination)
    if delivery_ids is not None:
        chosen = chosen.filter(id__in=list(delivery_ids))
    missing = _submissions_missing(destination, filters) if destination is not None else []
    if dry_run:
        return ReplayResult(requeued=chosen.count(), created=len(missing), dry_run=True)
    ids = list(chosen.values_list("id", flat=True))
    now = timezone.now()
    requeued = 0
    for start in range(0, len(ids), REPLAY_CHUNK):
        chunk = Delivery.objects.filter(id__in=ids[start : start + REPLAY_CHUNK])
        with transaction.atomic():
            # Inbox deliveries wait for their consumer; everything else goes to the dispatcher.
            requeued += lifecycle.replay(
                chunk.exclude(destination__kind__in=PULL_KINDS), pull=False, now=now
            )
            requeued += lifecycle.replay(
                chunk.filter(destination__kind__in=PULL_KINDS), pull=True, now=now
            )
        if progress:
            progress(len(ids[start : start + REPLAY_CHUNK]))
    created = 0
    if missing:
        route = Route.of(destination)
        for start in range(0, len(missing), REPLAY_CHUNK):
            batch = missing[start : start + REPLAY_CHUNK]
            created += len(Delivery.objects.bulk_create(delivery_rows(batch, [route], now)))
            if progress:
                progress(len(batch))
    if requeued or created:
        wakeup.request_drain()
    logger.info(
        "replay",
        extra={
            "tenant_id": tenant.id if tenant else None,
            "requeued": requeued,
            "deliveries_created": created,  # not "created": LogRecord has that attribute
        },
    )
    return ReplayResult(requeued=requeued, created=created, dry_run=False)


def _submissions_missing(destination: Destination, filters: dict[str, Any]) -> list[Any]:
    """Its tenant's submissions in scope that match the destination but have no delivery to it."""
    submissions = Delivery.submission.field.related_model  # ingest's model, by its foreign key
    candidates = submissions.objects.filter(
        tenant_id=destination.tenant_id, erased_at__isnull=True, **filters
    ).exclude(deliveries__destination=destination)
    return [
        s
        for s in candidates.iterator(chunk_size=REPLAY_CHUNK)
        if routing.filter_matches(
            destination.filter, form_id=s.form_id, source=s.source, event_type=s.event_type
        )
        and (s.requested_destinations is None or destination.name in s.requested_destinations)
    ]
