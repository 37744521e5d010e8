"""Files that come with a submission, and payloads too large to keep inline, stored through
Django's storage API (core.blobs). The submission row keeps, per object, its key, size, SHA-256
and content type; the bytes live in the storage."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile

from core.blobs import attachments_storage
from core.ids import random_token

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 100


def safe_filename(name: str) -> str:
    """The client's file name reduced to what every storage (and every shell) takes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", ascii_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._")
    return (base or "file")[-MAX_NAME:]


def store_upload(
    *, tenant_id: str, submission_id: str, index: int, field: str, upload: UploadedFile
) -> dict[str, Any]:
    """Save one uploaded file under tenant/submission/; what the row keeps of it."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    name = f"{tenant_id}/{submission_id}/{index}-{safe_filename(upload.name or 'file')}"
    key = attachments_storage().save(name, upload)
    return {
        "field": field,
        "filename": (upload.name or "")[:255],
        "content_type": upload.content_type or "application/octet-stream",
        "size": upload.size,
        "sha256": digest.hexdigest(),
        "key": key,
    }


def store_payload(*, tenant_id: str, submission_id: str, encoded: bytes) -> dict[str, Any]:
    """Save a payload too large to keep inline (its JSON); what the row keeps of it."""
    # A fresh name: a duplicate's own object (deleted at once) never replaces the original's.
    name = f"{tenant_id}/{submission_id}/payload-{random_token(8)}.json"
    key = attachments_storage().save(name, ContentFile(encoded))
    return {
        "key": key,
        "size": len(encoded),
        "sha256": hashlib.sha256(encoded).hexdigest(),
        "content_type": "application/json",
    }
