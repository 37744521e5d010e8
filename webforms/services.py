"""Writes for browser forms: create, change, delete. API, admin and `manage.py forms` call these."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import crypto
from core.errors import Invalid, NotFound
from core.ids import random_token
from ingest import services as ingest_services
from ingest.models import SchemaSubject
from ingest.parsing import clean_label
from ingest.schemas import clean_schema
from tenants.models import Tenant

from . import lookup
from .models import CaptchaProvider, Form
from .origins import clean_origins, clean_redirect_url

KEY_PREFIX = "frm_"
UNSET: Any = object()  # an update argument not given: the field keeps its value
MAX_FILES = 20
MAX_FILE_BYTES = 100 * 1024 * 1024
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,64}$")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/(\*|[a-z0-9][a-z0-9.+-]*)$")


def _clean_form_id(form_id: Any) -> str:
    cleaned = clean_label(form_id, "form_id") if isinstance(form_id, str) else ""
    if not cleaned or not re.fullmatch(r"[A-Za-z0-9_.:-]+", cleaned):
        raise Invalid("use 1-128 letters, digits, '_', '.', ':' or '-'", field="form_id")
    return cleaned


def _check_free(tenant: Tenant, form_id: str) -> None:
    if Form.objects.live().filter(tenant=tenant, form_id=form_id).exists():
        raise Invalid(f"{tenant.id} already has a form {form_id!r}", field="form_id")


def _limit(value: Any, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise Invalid(f"must be a whole number from 0 to {maximum}", field=field)
    return value


def _clean_file_types(values: Any) -> list[str]:
    if not isinstance(values, list) or not all(
        isinstance(v, str) and _CONTENT_TYPE.fullmatch(v.strip().lower()) for v in values
    ):
        raise Invalid(
            "must be a list of content types like image/png or image/*", field="allowed_file_types"
        )
    return list(dict.fromkeys(v.strip().lower() for v in values))


def _clean_honeypot(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not _FIELD_NAME.fullmatch(value):
        raise Invalid(
            "must be a form field name (letters, digits, _ . - [ ])", field="honeypot_field"
        )
    return value


def _apply(form: Form, changes: dict[str, Any]) -> str | None:
    """Check and set each given field on `form`; returns a new captcha secret to encrypt."""
    cleaners = {
        "allowed_origins": clean_origins,
        "redirect_url": clean_redirect_url,
        "honeypot_field": _clean_honeypot,
        "rate_limit_per_minute": lambda v: _limit(v, "rate_limit_per_minute", 1_000_000),
        "ip_rate_limit_per_minute": lambda v: _limit(v, "ip_rate_limit_per_minute", 1_000_000),
        "max_files": lambda v: _limit(v, "max_files", MAX_FILES),
        "max_file_bytes": lambda v: _limit(v, "max_file_bytes", MAX_FILE_BYTES),
        "allowed_file_types": _clean_file_types,
        "enabled": bool,
    }
    for name, value in changes.items():
        if name in cleaners and value is not UNSET:
            setattr(form, name, cleaners[name](value))
    provider = changes.get("captcha_provider", UNSET)
    secret = changes.get("captcha_secret", UNSET)
    if provider is not UNSET:
        if provider not in CaptchaProvider.values:
            choices = ", ".join(v for v in CaptchaProvider.values if v)
            raise Invalid(f"must be one of {choices} (or empty for none)", field="captcha_provider")
        if provider != form.captcha_provider and secret is UNSET and provider:
            raise Invalid("required with a captcha provider", field="captcha_secret")
        form.captcha_provider = provider
    if secret is UNSET or not form.captcha_provider:
        return "" if not form.captcha_provider else None
    if not isinstance(secret, str) or not secret.strip() or len(secret) > 512:
        raise Invalid("must be the provider's secret key", field="captcha_secret")
    return secret.strip()


def _save_secret(form: Form, secret: str | None) -> None:
    if secret is not None:
        form.captcha_secret_encrypted = crypto.encrypt(secret) if secret else ""


def form_validate(
    *, tenant: Tenant, form_id: str | None = None, form: Form | None = None, **changes: Any
) -> None:
    """Raise Invalid (with its field) as form_create or form_update would, writing nothing."""
    target = form if form is not None else Form(tenant=tenant)
    if form is None:
        _check_free(tenant, _clean_form_id(form_id))
    snapshot = {f.attname: getattr(target, f.attname) for f in Form._meta.concrete_fields}
    try:
        _apply(target, changes)
        if changes.get("schema", UNSET) not in (UNSET, None):
            clean_schema(changes["schema"])
    finally:
        for name, value in snapshot.items():
            setattr(target, name, value)


def form_create(*, tenant: Tenant, form_id: str, schema: Any = None, **settings: Any) -> Form:
    """A new form with its public key; `schema` (a JSON Schema) is checked on every post."""
    form_id = _clean_form_id(form_id)
    form = Form(tenant=tenant, form_id=form_id, form_key=KEY_PREFIX + random_token(24))
    secret = _apply(form, settings)
    if form.captcha_provider and not secret:
        raise Invalid("required with a captcha provider", field="captcha_secret")
    cleaned_schema = clean_schema(schema) if schema is not None else None
    _check_free(tenant, form_id)
    _save_secret(form, secret)
    try:
        with transaction.atomic():
            form.save()
            if cleaned_schema is not None:
                ingest_services.payload_schema_set(
                    tenant=tenant,
                    subject_kind=SchemaSubject.FORM,
                    subject=form_id,
                    schema=cleaned_schema,
                )
    except IntegrityError:  # a concurrent create took the form_id
        raise Invalid(f"{tenant.id} already has a form {form_id!r}", field="form_id") from None
    return form


def form_update(*, form: Form, schema: Any = UNSET, **changes: Any) -> Form:
    """Change what is given (`schema=None` removes the schema); the form_id and key stay."""
    secret = _apply(form, changes)
    cleaned_schema = clean_schema(schema) if schema not in (UNSET, None) else schema
    _save_secret(form, secret)
    with transaction.atomic():
        form.save()
        if cleaned_schema is None:
            _schema_drop(form)
        elif cleaned_schema is not UNSET:
            ingest_services.payload_schema_set(
                tenant=form.tenant,
                subject_kind=SchemaSubject.FORM,
                subject=form.form_id,
                schema=cleaned_schema,
            )
    lookup.forget(form.form_key)
    return form


def _schema_drop(form: Form) -> None:
    with contextlib.suppress(NotFound):  # it had none
        ingest_services.payload_schema_delete(
            tenant=form.tenant, subject_kind=SchemaSubject.FORM, subject=form.form_id
        )


def form_delete(*, form: Form) -> None:
    """Soft-delete: its action URL answers 404 from now on, its schema goes; what it stored
    stays."""
    with transaction.atomic():
        form.deleted_at = timezone.now()
        form.enabled = False
        form.save()
        _schema_drop(form)
    lookup.forget(form.form_key)
