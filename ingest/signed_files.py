"""POST /v1/ingest as multipart/form-data: the envelope as one part named "envelope" (JSON),
every other part a file. The signature covers the exact bytes of the whole body, so the parts are
read only after it holds. Files are stored as a browser form's are (ingest.attachments), at most
INGEST_MAX_FILES of at most INGEST_MAX_FILE_BYTES each; the envelope keeps the tenant's payload
limit. A WordPress site sends an upload this way before its form plugin deletes the file."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser

from core import blobs
from core.errors import Invalid, TooLarge
from core.ids import new_uuid7
from core.uploads import check_file_limits, multipart_refusals

from . import attachments
from .parsing import IngestInput

MULTIPART = "multipart/form-data"
ENVELOPE_PART = "envelope"
_PART_OVERHEAD = 64 * 1024  # boundaries and part headers


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == MULTIPART


def files_allowance() -> int:
    """Bytes a multipart body may carry beyond the tenant's payload limit: its files."""
    return settings.INGEST_MAX_FILES * settings.INGEST_MAX_FILE_BYTES + _PART_OVERHEAD


@dataclass
class SignedParts:
    envelope: bytes
    files: list[tuple[str, UploadedFile]]


def split(request: HttpRequest, body: bytes, *, max_payload_bytes: int) -> SignedParts:
    """The verified body's envelope and files, each within its limit."""
    meta = {"CONTENT_TYPE": request.META.get("CONTENT_TYPE", ""), "CONTENT_LENGTH": len(body)}
    with multipart_refusals():
        fields, files = MultiPartParser(
            meta, io.BytesIO(body), request.upload_handlers, "utf-8"
        ).parse()
    envelopes = fields.getlist(ENVELOPE_PART)
    if len(envelopes) != 1 or set(fields) != {ENVELOPE_PART}:
        raise Invalid(
            "A multipart body carries one JSON part named 'envelope' (no file name) and files; "
            f"this one has the fields {sorted(fields) or 'none'}.",
            code="invalid_payload",
        )
    envelope = envelopes[0].encode()
    if len(envelope) > max_payload_bytes:
        raise TooLarge(
            f"The envelope is {len(envelope)} bytes; the limit is {max_payload_bytes}.",
            code="payload_too_large",
        )
    uploads = [(name, upload) for name, items in files.lists() for upload in items]
    check_file_limits(
        uploads,
        max_files=settings.INGEST_MAX_FILES,
        max_file_bytes=settings.INGEST_MAX_FILE_BYTES,
        per="submission",
    )
    return SignedParts(envelope=envelope, files=uploads)


def store_files(tenant_id: str, data: IngestInput, files) -> tuple[IngestInput, list[str]]:
    """The submission with its files stored (under its submission_id, one made if it has none)
    and listed after any attachments the envelope named; and the stored objects' keys, for
    deleting them if the submission is not stored (refused, or a duplicate: the stored one
    keeps its own)."""
    if not files:
        return data, []
    submission_id = data.submission_id or str(new_uuid7())
    stored = []
    try:
        for index, (field, upload) in enumerate(files):
            stored.append(
                attachments.store_upload(
                    tenant_id=tenant_id, submission_id=submission_id, index=index,
                    field=field, upload=upload,
                )
            )  # fmt: skip
    except BaseException:
        blobs.delete_objects(blobs.object_keys(stored))
        raise
    data = replace(data, submission_id=submission_id, attachments=(*data.attachments, *stored))
    return data, blobs.object_keys(stored)
