"""Plain, decrypted views of destinations for the sending side (no ORM objects cross threads)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone

from core import crypto, secret_refs
from core.errors import Conflict
from tenants.bindings import secret_binding

from .connectors import aws_targets
from .connectors.base import DestinationSnapshot, Outcome
from .connectors.registry import connector_for
from .models import AttemptOutcome, Destination, DestinationSigningSecret


def _auth_secret(destination: Destination) -> dict:
    """The credential, resolved if it is a Secrets Manager reference its tenant may name."""
    stored = (
        crypto.decrypt(destination.auth_secret_encrypted)
        if destination.auth_secret_encrypted
        else ""
    )
    if not secret_refs.is_reference(stored):
        return {"auth_secret": stored}
    bound = secret_binding(destination.tenant)
    found = {"secret_reference": stored, "secret_grants": bound.grants}
    try:
        return {"auth_secret": secret_refs.resolve(stored, bound), **found}
    except secret_refs.SecretUnavailable as exc:
        return {
            "auth_secret": "",
            **found,
            "unusable": f"secret reference: {exc}",
            "unusable_transient": exc.transient,
            "unusable_code": "secret_unavailable" if exc.transient else "secret_not_usable",
        }


def _target_refusal(destination: Destination) -> dict:
    """Why its AWS targets may not be used now (an operator withdrew a grant), if they may not."""
    try:
        refused = aws_targets.ungranted(
            connector_for(destination.kind), destination.config, destination.tenant
        )
    except aws_targets.TargetsUnknown as exc:
        return {
            "unusable": f"cannot check the AWS target: {exc}",
            "unusable_transient": True,
            "unusable_code": "aws_unavailable",
        }
    if refused is None:
        return {}
    message = aws_targets.refusal_message(destination.tenant_id, refused)
    return {
        "unusable": f"target_not_allowed: {message}",
        "unusable_transient": False,
        "unusable_code": "target_not_allowed",
    }


# The engine's claim prefetches these in one query (previous_secrets_prefetch), not one each.
PREVIOUS_SECRETS = "signing_overlap"


def previous_secrets_prefetch(now: datetime) -> Prefetch:
    return Prefetch(
        "previous_signing_secrets",
        queryset=DestinationSigningSecret.objects.unexpired(now),
        to_attr=PREVIOUS_SECRETS,
    )


def _previous_signing_secrets(destination: Destination) -> tuple[str, ...]:
    """The secrets of a rotation's overlap, newest first (none once it ended)."""
    if not destination.signing_secret_encrypted:
        return ()
    rows = getattr(destination, PREVIOUS_SECRETS, None)
    if rows is None:
        rows = destination.previous_signing_secrets.unexpired(timezone.now())
    return tuple(crypto.decrypt(row.secret_encrypted) for row in rows)


def destination_snapshot(destination: Destination) -> DestinationSnapshot:
    refused = _target_refusal(destination)
    return DestinationSnapshot(
        id=destination.id,
        tenant_id=destination.tenant_id,
        name=destination.name,
        kind=destination.kind,
        config=destination.config,
        auth_mode=destination.auth_mode,
        auth_config=destination.auth_config,
        signing_secret=crypto.decrypt(destination.signing_secret_encrypted)
        if destination.signing_secret_encrypted
        else "",
        previous_signing_secrets=_previous_signing_secrets(destination),
        timeout_seconds=destination.timeout_seconds,
        connect_timeout_seconds=destination.connect_timeout_seconds,
        files_as=destination.files_as,
        retention_days=destination.tenant.retention_days,
        mail_senders=tuple(destination.tenant.mail_senders),
        **{**_auth_secret(destination), **refused},
    )


def refused_outcome(destination: DestinationSnapshot) -> Outcome | None:
    """The failed attempt of a destination that cannot be sent to now, if it cannot."""
    if not destination.unusable:
        return None
    return Outcome(
        outcome=AttemptOutcome.RETRYABLE
        if destination.unusable_transient
        else AttemptOutcome.PERMANENT,
        started_at=timezone.now(),
        duration_ms=0,
        error=destination.unusable,
    )


class DestinationUnusable(Conflict):
    """It may not be written to now: its secret cannot be read, or its target is not granted."""

    code = "destination_unusable"


def usable_snapshot(destination: Destination) -> DestinationSnapshot:
    """The snapshot of a destination a bulk path (the mirror's backfill) writes to directly."""
    snapshot = destination_snapshot(destination)
    if snapshot.unusable:
        raise DestinationUnusable(
            f"{destination.tenant_id}/{destination.name}: {snapshot.unusable}"
        )
    return snapshot
