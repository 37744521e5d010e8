"""Plain, decrypted views of destinations for the sending side (no ORM objects cross threads)."""

from __future__ import annotations

from core import crypto

from .connectors.base import DestinationSnapshot
from .models import Destination


def destination_snapshot(destination: Destination) -> DestinationSnapshot:
    return DestinationSnapshot(
        id=destination.id,
        tenant_id=destination.tenant_id,
        name=destination.name,
        kind=destination.kind,
        config=destination.config,
        auth_mode=destination.auth_mode,
        auth_config=destination.auth_config,
        auth_secret=crypto.decrypt(destination.auth_secret_encrypted)
        if destination.auth_secret_encrypted
        else "",
        signing_secret=crypto.decrypt(destination.signing_secret_encrypted)
        if destination.signing_secret_encrypted
        else "",
        timeout_seconds=destination.timeout_seconds,
        connect_timeout_seconds=destination.connect_timeout_seconds,
        files_as=destination.files_as,
        retention_days=destination.tenant.retention_days,
    )
