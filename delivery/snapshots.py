"""Plain, decrypted views of destinations for the sending side (no ORM objects cross threads)."""

from __future__ import annotations

from core import crypto, secret_refs

from .connectors.base import DestinationSnapshot
from .models import Destination


def _auth_secret(destination: Destination) -> dict:
    """The credential, resolved if it is a Secrets Manager reference."""
    stored = (
        crypto.decrypt(destination.auth_secret_encrypted)
        if destination.auth_secret_encrypted
        else ""
    )
    if not secret_refs.is_reference(stored):
        return {"auth_secret": stored}
    try:
        return {"auth_secret": secret_refs.resolve(stored), "secret_reference": stored}
    except secret_refs.SecretUnavailable as exc:
        return {
            "auth_secret": "",
            "secret_reference": stored,
            "secret_error": f"secret reference: {exc}",
            "secret_error_transient": exc.transient,
        }


def destination_snapshot(destination: Destination) -> DestinationSnapshot:
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
        timeout_seconds=destination.timeout_seconds,
        connect_timeout_seconds=destination.connect_timeout_seconds,
        files_as=destination.files_as,
        retention_days=destination.tenant.retention_days,
        **_auth_secret(destination),
    )
