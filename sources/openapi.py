"""OpenAPI for POST /v1/sources/{token}: a plain Django view (for speed), described by hand in a
drf-spectacular postprocessing hook, beside the DRF-described GET/PATCH/DELETE of that path."""

from __future__ import annotations

from typing import Any

from core.openapi import STORE_ERRORS, error_content

from .presets.registry import PRESETS

_ERRORS = (
    "invalid_json",
    "invalid_payload",
    "missing_signature_headers",
    "invalid_timestamp",
    "stale_timestamp",
    "invalid_signature",
    "tenant_disabled",
    "not_found",
    "payload_too_large",
    "unsupported_media_type",
    *STORE_ERRORS,
)
_RECEIPT = {
    "type": "object",
    "required": ["submission_id", "status"],
    "properties": {
        "submission_id": {"type": "string", "description": "<source name>:<provider event id>"},
        "status": {"type": "string", "enum": ["accepted", "duplicate"]},
    },
}
_BODY = {"type": "object", "additionalProperties": True}

RECEIVE = {
    "operationId": "sources_receive",
    "tags": ["sources"],
    "summary": "A provider's webhook, at the source's URL token",
    "description": (
        "The path parameter is the source's URL token (`src_...`), not its name. The request "
        "is verified by the source's preset over the raw bytes, as the provider documents it: "
        + "; ".join(f"`{p.name}` ({p.label})" for p in PRESETS)
        + ". The provider's event id is the idempotency key (a retry is answered 200 "
        "`duplicate`, storing nothing) and its event type the submission's `event_type`. "
        "Slack's `url_verification` is answered with its `challenge`."
    ),
    "security": [],
    "parameters": [
        {
            "name": "name",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "For POST, the source's URL token (src_...), as in its `url`.",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _BODY},
            "application/x-www-form-urlencoded": {"schema": _BODY},
        },
    },
    "responses": {
        "202": {
            "description": "Stored; deliveries queued.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SourceReceipt"}}
            },
        },
        "200": {
            "description": "A duplicate of a stored event (nothing new stored), or Slack's "
            'URL check answered with `{"challenge": ...}`.',
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SourceReceipt"}}
            },
        },
        **error_content(*_ERRORS),
    },
}


def add_source_receive(result: dict, generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: POST beside the path's DRF-described methods."""
    item = result.setdefault("paths", {}).setdefault("/v1/sources/{name}", {})
    item["post"] = RECEIVE
    result.setdefault("components", {}).setdefault("schemas", {})["SourceReceipt"] = _RECEIPT
    return result
