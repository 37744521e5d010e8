"""Stored files and offloaded payloads in the event, as each destination takes them: a signed,
expiring link (files_as=link, the default: the event stays small and the receiver fetches
what it wants) or the bytes themselves (files_as=inline)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from core import blobs
from core.timeutil import isoformat_z

from .models import FilesAs


def _expiry(epoch: int) -> str:
    return isoformat_z(datetime.fromtimestamp(epoch, tz=UTC))


def _read(key: str) -> bytes:
    with blobs.attachments_storage().open(key) as stored:
        return stored.read()


def with_stored_objects(
    event: dict[str, Any], *, tenant_id: str, payload_object: dict | None, files_as: str
) -> dict[str, Any]:
    """The event with its stored objects as the destination takes them (a new dict when any)."""
    if not blobs.object_keys(event["attachments"], payload_object):
        return event
    ttl = settings.FILE_LINK_TTL_SECONDS
    event = dict(event)
    if payload_object:
        if files_as == FilesAs.INLINE:
            event["payload"] = json.loads(_read(payload_object["key"]))
        else:
            url, expires = blobs.link(
                tenant_id=tenant_id, key=payload_object["key"], ttl_seconds=ttl
            )
            event["payload"] = None
            event["payload_url"] = url
            event["payload_url_expires_at"] = _expiry(expires)
            event["payload_size"] = payload_object["size"]
            event["payload_sha256"] = payload_object["sha256"]
    attachments = []
    for attachment in event["attachments"]:
        if not (isinstance(attachment, dict) and "key" in attachment):
            attachments.append(attachment)
            continue
        shown = {k: v for k, v in attachment.items() if k != "key"}
        if files_as == FilesAs.INLINE:
            shown["content_base64"] = base64.b64encode(_read(attachment["key"])).decode()
        else:
            shown["url"], expires = blobs.link(
                tenant_id=tenant_id, key=attachment["key"], ttl_seconds=ttl
            )
            shown["url_expires_at"] = _expiry(expires)
        attachments.append(shown)
    event["attachments"] = attachments
    return event
