"""OpenAPI for POST /f/{form_key}: a plain Django view a browser posts to, described by hand in
a drf-spectacular postprocessing hook."""

from __future__ import annotations

from typing import Any

from core.openapi import STORE_ERRORS, error_content

_ERRORS = (
    "invalid_payload",
    "too_many_files",
    "origin_not_allowed",
    "captcha_failed",
    "tenant_disabled",
    "not_found",
    "payload_too_large",
    "file_too_large",
    "unsupported_media_type",
    "file_type_not_allowed",
    "schema_violation",
    *STORE_ERRORS,
)
_FIELDS = {"type": "object", "additionalProperties": True}
_PARAMETER = {
    "name": "form_key",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The form's public key (frm_...), as in its `action_url`.",
}

POST = {
    "operationId": "forms_post",
    "tags": ["forms"],
    "summary": "A browser's form post (no key, no signature)",
    "description": (
        "What a plain HTML `<form method=post>` or a `fetch()` sends. Only pages of the form's "
        "allowed origins may post (Origin, else Referer). A filled honeypot field, or a captcha "
        "the provider could not check, is stored as spam and answered as a success. `_next` "
        "(an URL on an allowed origin) overrides the redirect. Answers: `303` to the thank-you "
        "page (or a built-in page), or, with `Accept: application/json`, `200` JSON. Refusals "
        "are JSON for a script, a short HTML page for a browser."
    ),
    "security": [],
    "parameters": [_PARAMETER],
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": _FIELDS},
            "multipart/form-data": {"schema": _FIELDS},
        },
    },
    "responses": {
        "200": {
            "description": "Stored (with `Accept: application/json`).",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/FormReceipt"}}
            },
        },
        "303": {"description": "Stored; the browser goes to the thank-you page (Location)."},
        **error_content(*_ERRORS),
    },
}
PREFLIGHT = {
    "operationId": "forms_preflight",
    "tags": ["forms"],
    "summary": "CORS preflight for a fetch() post from an allowed origin",
    "security": [],
    "parameters": [_PARAMETER],
    "responses": {
        "204": {"description": "Allowed: Access-Control-Allow-Origin names the page's origin."},
        **error_content("origin_not_allowed", "not_found"),
    },
}
_RECEIPT = {
    "type": "object",
    "required": ["submission_id", "status"],
    "properties": {
        "submission_id": {"type": "string"},
        "status": {"type": "string", "enum": ["accepted"]},
    },
}


def add_form_post(result: dict, generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the browser endpoint beside the forms API."""
    result.setdefault("paths", {})["/f/{form_key}"] = {"post": POST, "options": PREFLIGHT}
    result.setdefault("components", {}).setdefault("schemas", {})["FormReceipt"] = _RECEIPT
    return result
