"""Stored objects (uploaded files, payloads over the inline threshold) and signed, expiring
links to them.

Objects go through Django's storage API, the "attachments" storage: a folder by default, S3
(django-storages) when configured. A link names the tenant and the object's key, signed with
SECRET_KEY, and expires; whoever holds it may fetch that one object until then.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from django.core import signing
from django.core.files.storage import Storage, storages

from . import crypto
from .http import public_origin

_LINK_SALT = "formbridge.blobs.link"
# The member naming an object we stored, in attachments and payload_object (never a sender's).
STORED_OBJECT_KEY = "key"


def attachments_storage() -> Storage:
    return storages["attachments"]


def object_keys(attachments: Iterable[Any], payload_object: dict | None = None) -> list[str]:
    """The storage keys a submission holds: its stored files' (a sender's own URLs have none)
    and its offloaded payload's."""
    key = STORED_OBJECT_KEY
    keys = [a[key] for a in attachments if isinstance(a, dict) and isinstance(a.get(key), str)]
    if payload_object and isinstance(payload_object.get(key), str):
        keys.append(payload_object[key])
    return keys


def delete_objects(keys: Iterable[str]) -> None:
    """Delete each object for good. In a versioned S3 bucket a plain delete only hides the
    object behind a delete marker, and its content stays readable as a noncurrent version:
    every version of the key is deleted instead (erase and purge promise the bytes are gone)."""
    storage = attachments_storage()
    bucket = getattr(storage, "bucket", None) if hasattr(storage, "bucket_name") else None
    for key in keys:
        if bucket is None:
            storage.delete(key)
        else:
            _delete_every_version(storage, bucket, key)


def _delete_every_version(storage, bucket, key: str) -> None:
    from storages.utils import clean_name

    name = storage._normalize_name(clean_name(key))  # the key as S3Storage.delete names it
    versions = [
        {"Key": version.object_key, "VersionId": version.id}
        for version in bucket.object_versions.filter(Prefix=name)
        if version.object_key == name
    ]
    if not versions:
        storage.delete(key)  # an unversioned bucket lists its objects as version "null"
        return
    for start in range(0, len(versions), 1000):  # DeleteObjects takes 1,000 at a time
        bucket.delete_objects(Delete={"Objects": versions[start : start + 1000], "Quiet": True})


def link(*, tenant_id: str, key: str, ttl_seconds: int) -> tuple[str, int]:
    """An absolute download URL for one stored object, and when it expires (epoch seconds).
    The token is the claims sealed (encrypted and authenticated), not merely signed: links
    travel to third parties, and a signed token shows the tenant, the submission and the file's
    own name."""
    expires = int(time.time()) + ttl_seconds
    claims = json.dumps({"t": tenant_id, "k": key, "e": expires}, separators=(",", ":"))
    return f"{public_origin()}/v1/files/{crypto.seal(claims, purpose=_LINK_SALT)}", expires


def _claims(token: str) -> Any:
    opened = crypto.unseal(token, purpose=_LINK_SALT)
    if opened is not None:
        return json.loads(opened)
    # A signed link made before links were encrypted, still unexpired.
    try:
        return signing.loads(token, salt=_LINK_SALT)
    except signing.BadSignature:
        return None


def resolve_link(token: str) -> tuple[str, str] | None:
    """(tenant id, key) of a link that is authentic and unexpired, else None."""
    claims = _claims(token)
    if not isinstance(claims, dict) or not isinstance(claims.get("e"), int):
        return None
    if claims["e"] < time.time():
        return None
    return claims.get("t"), claims.get("k")
