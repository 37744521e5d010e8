"""Reads for browser forms, always scoped by tenant."""

from __future__ import annotations

from core.http import public_origin
from ingest import selectors as ingest_selectors
from ingest.models import SchemaSubject
from tenants.models import Tenant

from .models import Form


def form_get(*, tenant: Tenant, form_id: str) -> Form | None:
    return Form.objects.live().filter(tenant=tenant, form_id=form_id).first()


def form_list(*, tenant: Tenant) -> list[Form]:
    return list(Form.objects.live().filter(tenant=tenant))


def form_schema(form: Form) -> dict | bool | None:
    """The JSON Schema its submissions must match (the form_id's), or None."""
    row = ingest_selectors.payload_schema_get(
        tenant=form.tenant, subject_kind=SchemaSubject.FORM, subject=form.form_id
    )
    return row.schema if row is not None else None


def action_url(form: Form, request_origin: str = "") -> str:
    """What goes in the page's <form action="...">."""
    return f"{public_origin(request_origin)}/f/{form.form_key}"
