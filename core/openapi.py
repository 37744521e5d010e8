"""The OpenAPI description of the one error shape, shared by every app's API views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, snake_case: branch on it."},
                "message": {"type": "string", "description": "For people; may change."},
                "fields": {"type": "object", "description": "Per-field problems (400)."},
                "errors": {
                    "type": "array",
                    "description": "schema_violation (422): each error, a JSON pointer into "
                    "the event (/payload/email) and a message.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "pointer": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(required=False),
                "errors": serializers.ListField(child=serializers.DictField(), required=False),
            },
        )
    },
)

# code -> (HTTP status, a typical message)
ERROR_CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "Invalid request."),
    "invalid_cursor": (400, "The cursor is not one this API returned; start over without it."),
    "invalid_destination": (400, "config: the URL must start with http:// or https://"),
    "invalid_json": (400, "The body is not valid JSON."),
    "invalid_payload": (400, "The body must be a JSON object."),
    "invalid_schema": (400, "schema: is not a valid Draft 2020-12 schema."),
    "missing_api_key": (401, "Send your API key as 'Authorization: Bearer <key>'."),
    "invalid_api_key": (401, "The API key is unknown or revoked."),
    "missing_signature_headers": (401, "Missing header(s): X-Signature."),
    "invalid_timestamp": (401, "X-Timestamp must be ISO 8601 with a zone or Unix seconds."),
    "stale_timestamp": (401, "X-Timestamp is 912 s from server time; the window is ±300 s."),
    "invalid_signature": (401, "The signature does not match."),
    "insufficient_scope": (403, "This API key lacks the 'read' scope."),
    "origin_not_allowed": (403, "This form takes posts from https://www.example.com only."),
    "captcha_failed": (403, "The captcha was not solved (or has expired); nothing was stored."),
    "too_many_files": (400, "At most 5 file(s) per post; this one has 6."),
    "file_too_large": (413, "The file in 'cv' is 12582912 bytes; the limit is 10485760."),
    "file_type_not_allowed": (415, "The file in 'cv' is application/zip; this form takes image/*."),
    "tenant_disabled": (403, "This tenant is disabled."),
    "not_found": (404, "No such submission."),
    "unauthenticated": (401, "The request does not prove who sent it."),
    "forbidden": (403, "Not allowed."),
    "replayed_request": (
        409,
        "This exact signed request was already stored as submission 'sub_1'; nothing new was "
        "stored. (The body's top-level submission_id names it.)",
    ),
    "submission_conflict": (
        409,
        "submission_id 'sub_1' was already used for another payload; nothing was stored.",
    ),
    "idempotency_conflict": (
        409,
        "Idempotency-Key 'order-42' was already used for another payload; nothing was stored.",
    ),
    "event_not_found": (404, "No event 'evt_1' in this inbox; nothing was acknowledged."),
    "no_inbox": (404, "This tenant has no inbox destination."),
    "method_not_allowed": (405, 'Method "PUT" not allowed.'),
    "payload_too_large": (413, "The body is over 1048576 bytes."),
    "unsupported_media_type": (415, "Send application/json."),
    "schema_violation": (
        422,
        "The payload does not match the schema of form 'contact'; nothing was stored. "
        "(error.errors lists each: a JSON pointer and a message.)",
    ),
    "rate_limited": (429, "Over 50 requests per second; retry after 1 s."),
    "quota_exceeded": (429, "The daily quota of 100000 is used up."),
    "database_unavailable": (503, "Storage is unavailable right now; nothing was stored."),
    "storage_unconfirmed": (
        503,
        "The database connection broke while storing: the submission may or may not be stored. "
        "Send the same request again.",
    ),
    "limits_unavailable": (503, "Rate limits cannot be checked right now; nothing was stored."),
    "secret_unavailable": (
        503,
        "The source's secret (a Secrets Manager reference) cannot be read right now; nothing "
        "was stored.",
    ),
}

# Every endpoint can answer these.
COMMON_ERRORS = (
    "missing_api_key",
    "invalid_api_key",
    "insufficient_scope",
    "tenant_disabled",
    "database_unavailable",
)


# What storing a submission may answer, whichever way it came in (signed ingest, events, a
# provider's webhook, a browser form): the tenant's limits and the database's state.
STORE_ERRORS = (
    "rate_limited",
    "quota_exceeded",
    "database_unavailable",
    "storage_unconfirmed",
    "limits_unavailable",
)


def error_responses(*codes: str) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for these error codes, grouped by status, one example per code."""
    by_status: dict[int, list[str]] = {}
    for code in (*codes, *COMMON_ERRORS):
        by_status.setdefault(ERROR_CODES[code][0], []).append(code)
    return {
        status: OpenApiResponse(
            response=ErrorSerializer,
            description=", ".join(f"`{code}`" for code in dict.fromkeys(status_codes)),
            examples=[
                OpenApiExample(
                    code,
                    value={"error": {"code": code, "message": ERROR_CODES[code][1]}},
                    status_codes=[str(status)],
                    response_only=True,
                )
                for code in dict.fromkeys(status_codes)
            ],
        )
        for status, status_codes in sorted(by_status.items())
    }


def error_content(*codes: str) -> dict[str, Any]:
    """Hand-written OpenAPI responses for these error codes (for views DRF does not see)."""
    out: dict[str, Any] = {}
    for code in codes:
        status, message = ERROR_CODES[code]
        entry = out.setdefault(
            str(status),
            {
                "description": "",
                "content": {"application/json": {"schema": ERROR_SCHEMA, "examples": {}}},
            },
        )
        entry["description"] = ", ".join(filter(None, [entry["description"], f"`{code}`"]))
        entry["content"]["application/json"]["examples"][code] = {
            "value": {"error": {"code": code, "message": message}}
        }
    return out


def header_parameter(name: str, description: str, example: str, required: bool = True) -> dict:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "schema": {"type": "string"},
        "description": description,
        "example": example,
    }
