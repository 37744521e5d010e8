"""Files that come with a submission, stored through Django's storage API (the "attachments"
storage: a folder under var/ by default). The submission row keeps, per file, its key, size,
SHA-256 and content type; the bytes live in the storage."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 100


def attachments_storage() -> Storage:
    return storages["attachments"]


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


def stored_keys(attachments: Iterable[Any]) -> list[str]:
    """The storage keys among a submission's attachments (a sender's own URLs have none)."""
    return [a["key"] for a in attachments if isinstance(a, dict) and isinstance(a.get("key"), str)]


def delete_stored(keys: Iterable[str]) -> None:
    storage = attachments_storage()
    for key in keys:
        storage.delete(key)
