"""A browser's post to a form: admitted (origin, rate limits), checked (files, honeypot, captcha)
and stored as a submission through the one ingest service (schema, fan-out, counts).

Spam (a filled honeypot, a captcha the provider could not check) is stored with status spam and
routed nowhere, and the browser is answered exactly as for a lead: a bot learns nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from core import blobs
from core.errors import Forbidden, Invalid, Unsupported
from core.ids import new_uuid7
from core.uploads import check_file_limits
from ingest import attachments
from ingest.parsing import IngestInput, form_fields
from ingest.services import submission_ingest
from ingest.storage import StorageUnconfirmed
from tenants import limits

from . import captcha
from .lookup import LiveForm
from .models import CaptchaProvider, Form
from .origins import browser_url, is_allowed, safe_next
from .throttle import FormRates, count_form_post

logger = logging.getLogger(__name__)

SOURCE = "form"
NEXT_FIELD = "_next"
# Fields that steer the post and are no part of the lead.
_CONTROL_FIELDS = {NEXT_FIELD, *captcha.TOKEN_FIELD.values()}


@dataclass(frozen=True)
class BrowserPost:
    fields: list[tuple[str, str]]
    files: list[tuple[str, UploadedFile]] = field(default_factory=list)
    size: int = 0  # bytes as received
    sha256: str = ""  # of the body, or of the fields when the body was parsed as multipart
    ip: str | None = None


@dataclass(frozen=True)
class Received:
    submission_id: str
    next_url: str | None  # where the browser goes (None: the built-in thank-you page)


def form_admit(live: LiveForm, *, origin: str | None, ip: str | None, now: datetime) -> FormRates:
    """What is checked before the body is read: the page's origin and the tenant's limits; the
    post is counted against the form's and the client's rates, whose verdict the caller
    enforces (FormRates.enforce) once it has read the post, before anything is stored."""
    form = live.form
    if not is_allowed(form.allowed_origins, origin):
        raise Forbidden(
            f"This form takes posts from {', '.join(form.allowed_origins)} only"
            + (f", not {origin}." if origin else "; the request named no origin."),
            code="origin_not_allowed",
        )
    rates = count_form_post(
        form_pk=form.pk,
        per_minute=form.rate_limit_per_minute,
        ip=ip,
        ip_per_minute=form.ip_rate_limit_per_minute,
        now=now,
    )
    try:
        limits.check_limits(form.tenant, now=now)
    except BaseException:
        rates.close()
        raise
    return rates


def _type_allowed(content_type: str, allowed: list[str]) -> bool:
    if not allowed:
        return True
    family = content_type.split("/", 1)[0] + "/*"
    return content_type in allowed or family in allowed


def check_files(form: Form, files: list[tuple[str, UploadedFile]]) -> None:
    check_file_limits(
        files, max_files=form.max_files, max_file_bytes=form.max_file_bytes, per="post"
    )
    for name, upload in files:
        content_type = (upload.content_type or "application/octet-stream").lower()
        if not _type_allowed(content_type, form.allowed_file_types):
            raise Unsupported(
                f"The file in {name!r} is {content_type}; this form takes "
                f"{', '.join(form.allowed_file_types)}.",
                code="file_type_not_allowed",
            )


def _spam_reason(live: LiveForm, values: dict[str, str], ip: str | None) -> str:
    """Why this post is spam ("" if it is not); raises Forbidden when the captcha fails."""
    form = live.form
    if form.honeypot_field and values.get(form.honeypot_field, "").strip():
        return "honeypot"
    if not form.captcha_provider:
        return ""
    token = values.get(captcha.TOKEN_FIELD[CaptchaProvider(form.captcha_provider)], "")
    verdict = captcha.verify(form.captcha_provider, live.captcha_secret, token, ip)
    if verdict is captcha.Verdict.FAILED:
        raise Forbidden(
            "The captcha was not solved (or has expired); nothing was stored. Try again.",
            code="captcha_failed",
        )
    return "captcha_unverified" if verdict is captcha.Verdict.UNVERIFIED else ""


def form_receive(live: LiveForm, post: BrowserPost, *, now: datetime) -> Received:
    """Store one admitted post (spam too, for review) and say where the browser goes next."""
    form = live.form
    values = {name: value for name, value in post.fields}  # the last of a repeated name
    hidden = _CONTROL_FIELDS | ({form.honeypot_field} if form.honeypot_field else set())
    payload: dict[str, Any] = form_fields([(n, v) for n, v in post.fields if n not in hidden])
    if not payload and not post.files:
        raise Invalid("The form has no fields.", code="invalid_payload")
    check_files(form, post.files)
    spam_reason = _spam_reason(live, values, post.ip)
    submission_id = str(new_uuid7())
    stored: list[dict[str, Any]] = []
    try:
        for index, (name, upload) in enumerate(post.files):
            stored.append(
                attachments.store_upload(
                    tenant_id=form.tenant_id,
                    submission_id=submission_id,
                    index=index,
                    field=name,
                    upload=upload,
                )
            )
        result = submission_ingest(
            tenant=form.tenant,
            data=IngestInput(
                payload=payload,
                source=SOURCE,
                form_id=form.form_id,
                submission_id=submission_id,
                attachments=tuple(stored),
            ),
            body=b"",
            ip=post.ip,
            received_at=now,
            spam_reason=spam_reason,
            body_size=post.size,
            body_sha256=post.sha256 or _fields_digest(post.fields),
        )
    except StorageUnconfirmed:
        raise  # the row may have been stored and name the files: keep them
    except BaseException:
        # Refused (a schema, say) or not stored: no file may outlive its submission.
        blobs.delete_objects(blobs.object_keys(stored))
        raise
    if result.created and not spam_reason:
        limits.record_accepted(form.tenant, now=now)
    if spam_reason:
        logger.info(
            "form post kept as spam",
            extra={
                "tenant_id": form.tenant_id,
                "submission_id": submission_id,
                "reason": spam_reason,
            },
        )
    next_url = safe_next(
        values.get(NEXT_FIELD, ""),
        allowed_origins=form.allowed_origins,
        redirect_url=form.redirect_url,
    )
    return Received(
        submission_id=result.submission.submission_id,
        # A redirect URL saved before it was rebuilt on save is rebuilt here (browser_url).
        next_url=next_url or browser_url(form.redirect_url) or None,
    )


def _fields_digest(fields: list[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()
