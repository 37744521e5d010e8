"""A provider's request at its source URL: verified by the preset, stored as a submission.

The order is that of signed ingest: find the source by its token (cached), read the body within
the tenant's limit, verify over the raw bytes, then parse. The provider's event id becomes the
submission_id, so the provider's retry of an event is a duplicate that stores nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import storable
from core.errors import NotFound, Unauthenticated
from ingest.parsing import IngestInput
from ingest.services import IngestResult, submission_ingest
from tenants import limits

from . import credentials
from .credentials import SourceCredentials
from .presets.base import Event, Inbound
from .presets.registry import preset_for

_MAX_LABEL = 128


@dataclass(frozen=True)
class Received:
    """What the provider is answered: a stored (or duplicate) submission, or a reply."""

    result: IngestResult | None
    reply: dict[str, Any] | None = None


def submission_id_for(source_name: str, event_id: str) -> str:
    """`<source>:<provider event id>`: unique per tenant, as submission ids are, even when two
    sources' providers number their events alike. An id that would not fit is digested."""
    candidate = f"{source_name}:{event_id}"
    if storable.is_public_id(candidate):
        return candidate
    return f"{source_name}:{hashlib.sha256(event_id.encode()).hexdigest()[: 63 - len(source_name)]}"


def _verified(inbound_for, token: str, now: datetime) -> tuple[SourceCredentials, Inbound]:
    """The source's credentials and the request, once a secret verifies it (a secret rotated in
    by another process since we cached is found by one refetch)."""
    found, cached = credentials.get(token, now)
    if found is None:
        raise NotFound("No source at this URL (or it is disabled).")
    inbound = inbound_for(found.source.tenant.max_payload_bytes)
    preset = preset_for(found.source.preset)
    try:
        preset.verify(inbound, found.secrets_at(now), found.source.config)
    except Unauthenticated as refusal:
        fresh = credentials.refetch_after_mismatch(token, now) if cached else None
        if fresh is None or refusal.code != "invalid_signature":
            raise
        preset.verify(inbound, fresh.secrets_at(now), fresh.source.config)
        found = fresh
    return found, inbound


def source_receive(*, token: str, inbound_for, ip: str | None, now: datetime) -> Received:
    """Verify and store one provider request.

    `inbound_for(limit)` reads the request into an Inbound, refusing a body over `limit` bytes;
    it is called only once the token names a source, so an unknown token costs no read.
    """
    found, inbound = _verified(inbound_for, token, now)
    source, tenant = found.source, found.source.tenant
    preset = preset_for(source.preset)
    event: Event = preset.describe(inbound, source.config)
    if event.reply is not None:
        return Received(result=None, reply=event.reply)
    limits.check_limits(tenant, now=now)
    data = IngestInput(
        payload=event.payload,
        source=preset.name,
        form_id=source.name,
        event_type=event.event_type[:_MAX_LABEL],
        submission_id=submission_id_for(
            source.name, preset.event_key(event, inbound, source.config)
        ),
        unverified_fields=preset.unverified_fields(event, source.config),
    )
    result = submission_ingest(tenant=tenant, data=data, body=inbound.body, ip=ip, received_at=now)
    if result.created:
        limits.record_accepted(tenant, now=now)
    return Received(result=result)
