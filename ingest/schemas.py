"""JSON Schemas (Draft 2020-12) a tenant sets on a form or an event type, checked on every path
in (signed ingest, API events, sources, browser forms) before anything is stored.

Schemas are compiled once (jsonschema-rs: tens of times faster than the pure-Python jsonschema
on a form's payload; `make bench-schema` measures both) and cached per tenant like its routes,
so a submission costs no query to find them. Remote `$ref`s are never fetched (a schema must
not make the server call out), and a pattern's backtracking is bounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from django.conf import settings

from core.errors import Invalid, Unprocessable
from core.ttl_cache import TTLCache

from .models import PayloadSchema, SchemaSubject

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
MAX_SCHEMA_BYTES = 64 * 1024
MAX_ERRORS_LISTED = 50
_PATTERN_OPTIONS = jsonschema_rs.FancyRegexOptions(backtrack_limit=100_000)


def _compile(document: Any) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(
        document, validate_formats=True, offline=True, pattern_options=_PATTERN_OPTIONS
    )


def clean_schema(document: Any) -> dict[str, Any] | bool:
    """The schema as stored, once it is a valid Draft 2020-12 schema that compiles offline;
    else Invalid naming the field `schema`."""
    if not isinstance(document, dict | bool):
        raise Invalid(
            "must be a JSON Schema: an object (or true/false)",
            code="invalid_schema",
            field="schema",
        )
    if len(json.dumps(document)) > MAX_SCHEMA_BYTES:
        raise Invalid(f"is over {MAX_SCHEMA_BYTES} bytes", code="invalid_schema", field="schema")
    if isinstance(document, dict):
        declared = document.get("$schema", DRAFT_2020_12)
        if not isinstance(declared, str) or declared.rstrip("#") != DRAFT_2020_12:
            raise Invalid(
                f"$schema must be {DRAFT_2020_12} (Draft 2020-12) or left out",
                code="invalid_schema",
                field="schema",
            )
    try:
        jsonschema_rs.meta.validate(document)
        _compile(document)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "does not compile"
        raise Invalid(
            f"is not a valid Draft 2020-12 schema: {first_line[:300]}",
            code="invalid_schema",
            field="schema",
        ) from None
    return document


@dataclass(frozen=True)
class Violation:
    pointer: str  # a JSON Pointer into the canonical event, e.g. /payload/email
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message}


def _pointer(path: Iterable[Any]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def violations(validator: jsonschema_rs.Draft202012Validator, payload: Any) -> list[Violation]:
    found = []
    for error in validator.iter_errors(payload):
        path = list(error.instance_path)
        # A missing property is pointed at where it should be, as a form shows it by its field.
        missing = getattr(error.kind, "property", None)
        if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Required) and missing:
            path.append(missing)
        found.append(Violation(pointer="/payload" + _pointer(path), message=error.message))
        if len(found) >= MAX_ERRORS_LISTED:
            break
    return found


_Key = tuple[str, str]  # (subject kind, form_id or event type)
_validators: TTLCache[str, dict[_Key, jsonschema_rs.Draft202012Validator]] = TTLCache(
    ttl=lambda: settings.TENANT_CACHE_SECONDS
)


def _tenant_validators(tenant_id: str) -> dict[_Key, jsonschema_rs.Draft202012Validator]:
    def fetch() -> dict[_Key, jsonschema_rs.Draft202012Validator]:
        rows = PayloadSchema.objects.filter(tenant_id=tenant_id).values_list(
            "subject_kind", "subject", "schema"
        )
        return {(kind, subject): _compile(schema) for kind, subject, schema in rows}

    return _validators.get(tenant_id, fetch)[0]


def forget(tenant_id: str | None = None) -> None:
    _validators.forget(tenant_id)


def check_payload(*, tenant_id: str, form_id: str, event_type: str, payload: Any) -> None:
    """Raise Unprocessable `schema_violation` listing each error if the payload breaks the
    schema of its form or of its event type (both apply when both are set)."""
    validators = _tenant_validators(tenant_id)
    if not validators:
        return
    found: list[Violation] = []
    subjects = []
    for kind, subject in ((SchemaSubject.FORM, form_id), (SchemaSubject.EVENT_TYPE, event_type)):
        validator = validators.get((kind, subject)) if subject else None
        if validator is not None and not validator.is_valid(payload):
            subjects.append(f"{kind.label.lower()} {subject!r}")
            found += violations(validator, payload)
    if found:
        raise Unprocessable(
            f"The payload does not match the schema of {' and '.join(subjects)}; "
            "nothing was stored.",
            code="schema_violation",
            details={"errors": [v.as_dict() for v in found[:MAX_ERRORS_LISTED]]},
        )
