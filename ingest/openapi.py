"""OpenAPI (drf-spectacular) for the two ingest endpoints, which are plain Django views (for
speed) and so are described here by hand, as a postprocessing hook."""

from __future__ import annotations

from typing import Any

from core.openapi import STORE_ERRORS, error_content, header_parameter
from core.serializers import TIME_FORMAT_HELP

_VERIFY_ERRORS = (
    "missing_signature_headers",
    "invalid_timestamp",
    "stale_timestamp",
    "invalid_signature",
    "tenant_disabled",
    "payload_too_large",
)
_INGEST_ERRORS = (
    "invalid_json",
    "invalid_payload",
    "missing_signature_headers",
    "invalid_timestamp",
    "stale_timestamp",
    "invalid_signature",
    "replayed_request",
    "submission_conflict",
    "tenant_disabled",
    "payload_too_large",
    "too_many_files",
    "file_too_large",
    "unsupported_media_type",
    *STORE_ERRORS,
)
_EVENTS_ERRORS = (
    "invalid_json",
    "invalid_payload",
    "idempotency_conflict",
    "missing_api_key",
    "invalid_api_key",
    "insufficient_scope",
    "tenant_disabled",
    "payload_too_large",
    "unsupported_media_type",
    *STORE_ERRORS,
)
_OBJECT_BODY = {"type": "object", "additionalProperties": True}
_ENVELOPE_EXAMPLE = {
    "submission_id": "0190c5a4-7b3e-7cc2-9a51-3f1d2e4b5a60",
    "form_id": "contact_us",
    "source": "wordpress",
    "submitted_at": "2025-08-25T18:00:00Z",
    "payload": {"name": "Jane Doe", "email": "jane@example.com"},
}


INGEST_PATHS: dict[str, Any] = {
    "/v1/ingest": {
        "post": {
            "operationId": "ingest_create",
            "tags": ["ingest"],
            "summary": "Ingest a signed form submission",
            "description": (
                '`X-Signature` is `hex(hmac_sha256(secret, X-Timestamp + "\\n" + raw_body))` '
                "over the exact bytes sent, with the tenant's signing secret. The timestamp must "
                "be within ±300 s. The body is a JSON object or form-urlencoded; an object with "
                "an object `payload` is a canonical envelope (`submission_id`, `form_id`, "
                "`source`, `submitted_at`, `event_type`, `payload`, `destinations`), anything "
                "else is the payload itself. A repeated `submission_id` with the same payload "
                "is answered 200 `duplicate` (even as identical bytes) and stores nothing new; "
                "with another payload it is 409 `submission_conflict`. As `multipart/form-data`, "
                "the body carries the envelope as one JSON part named `envelope` and files as "
                "the other parts (at most INGEST_MAX_FILES of INGEST_MAX_FILE_BYTES each; the "
                "signature covers the whole body); the files are stored with the submission and "
                "listed in its `attachments`."
            ),
            "security": [],
            "parameters": [
                header_parameter("X-Tenant-Id", "The tenant's id.", "t_acme"),
                header_parameter(
                    "X-Timestamp",
                    "ISO 8601 with a zone (PHP gmdate('c')) or Unix seconds.",
                    "2025-08-25T18:00:00+00:00",
                ),
                header_parameter(
                    "X-Signature",
                    "Hex HMAC-SHA256, see above.",
                    "5d41402abc4b2a76b9719d911017c592" * 2,
                ),
                header_parameter(
                    "X-Form-Id", "Form id when the body has none.", "contact_us", False
                ),
                header_parameter("X-Source", "Source when the body has none.", "wordpress", False),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _OBJECT_BODY,
                        "examples": {"envelope": {"value": _ENVELOPE_EXAMPLE}},
                    },
                    "application/x-www-form-urlencoded": {"schema": _OBJECT_BODY},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["envelope"],
                            "properties": {
                                "envelope": {
                                    "type": "string",
                                    "description": "The envelope, as JSON.",
                                },
                            },
                            "additionalProperties": {"type": "string", "format": "binary"},
                        },
                        "encoding": {"envelope": {"contentType": "application/json"}},
                    },
                },
            },
            "responses": {
                "202": {
                    "description": "Stored; deliveries queued.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/IngestReceipt"},
                            "example": {
                                "submission_id": _ENVELOPE_EXAMPLE["submission_id"],
                                "status": "accepted",
                                "received_at": "2025-08-25T18:00:00.123Z",
                                "deliveries": 2,
                            },
                        }
                    },
                },
                "200": {
                    "description": "A duplicate of a stored submission; nothing new stored.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/IngestReceipt"}
                        }
                    },
                },
                **error_content(*_INGEST_ERRORS),
            },
        }
    },
    "/v1/verify": {
        "post": {
            "operationId": "verify_create",
            "tags": ["ingest"],
            "summary": "Check a signed request without storing it",
            "description": (
                "Signed exactly as `POST /v1/ingest` (same headers, same body rules); checked and "
                "answered, never stored or counted. A client's *test connection*, and its clock "
                "check: `server_time` here, and in a `401 stale_timestamp`, is the server's."
            ),
            "security": [],
            "parameters": [
                header_parameter("X-Tenant-Id", "The tenant's id.", "t_acme"),
                header_parameter("X-Timestamp", "As for /v1/ingest.", "2025-08-25T18:00:00+00:00"),
                header_parameter("X-Signature", "As for /v1/ingest.", "5d41402abc4b2a76" * 4),
            ],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": _OBJECT_BODY}},
            },
            "responses": {
                "200": {
                    "description": "The signature and the timestamp verify.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "tenant_id": {"type": "string"},
                                    "status": {"type": "string", "enum": ["ok"]},
                                    "server_time": {"type": "string", "format": "date-time"},
                                },
                                "required": ["tenant_id", "status", "server_time"],
                            },
                            "example": {
                                "tenant_id": "t_acme",
                                "status": "ok",
                                "server_time": "2025-08-25T18:00:00.123Z",
                            },
                        }
                    },
                },
                **error_content(*_VERIFY_ERRORS),
            },
        }
    },
    "/v1/events": {
        "post": {
            "operationId": "events_create",
            "tags": ["ingest"],
            "summary": "Post an event with an API key (scope: ingest)",
            "description": (
                "Free JSON; an `event_type` field routes it. `Idempotency-Key` makes a retry "
                "safe: the same key returns the first event with status `duplicate`; the same "
                "key with another body is 409 `idempotency_conflict`."
            ),
            "security": [{"ApiKey": []}],
            "parameters": [
                header_parameter("Idempotency-Key", "Makes retries safe.", "order-1234", False),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _OBJECT_BODY,
                        "example": {"event_type": "customer.created", "foo": "bar"},
                    }
                },
            },
            "responses": {
                "202": {
                    "description": "Stored; deliveries queued.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/EventReceipt"},
                            "example": {
                                "event_id": "0190c5a4-7b3e-7cc2-9a51-3f1d2e4b5a60",
                                "received_at": 1732140249123,
                                "status": "accepted",
                            },
                        }
                    },
                },
                "200": {
                    "description": "Same Idempotency-Key as a stored event.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/EventReceipt"}
                        }
                    },
                },
                **error_content(*_EVENTS_ERRORS),
            },
        }
    },
}

RECEIPT_SCHEMAS = {
    "IngestReceipt": {
        "type": "object",
        "required": ["submission_id", "status", "received_at", "deliveries"],
        "properties": {
            "submission_id": {"type": "string"},
            "status": {"type": "string", "enum": ["accepted", "duplicate"]},
            "received_at": {
                "type": "string",
                "format": "date-time",
                "description": TIME_FORMAT_HELP,
            },
            "deliveries": {"type": "integer", "minimum": 0},
        },
    },
    "EventReceipt": {
        "type": "object",
        "required": ["event_id", "received_at", "status"],
        "properties": {
            "event_id": {"type": "string"},
            "received_at": {"type": "integer", "description": "Epoch milliseconds."},
            "status": {"type": "string", "enum": ["accepted", "duplicate"]},
        },
    },
}


FILE_PATHS: dict[str, Any] = {
    "/v1/files/{token}": {
        "get": {
            "operationId": "files_download",
            "tags": ["submissions"],
            "summary": "A stored file or payload, by the signed link an event or the API gave",
            "description": (
                "The link is the authorisation: signed, for one object of one tenant, and it "
                "expires (FILE_LINK_TTL_SECONDS). Served as an attachment. An expired or altered "
                "link, or an object erased or purged since, is 404."
            ),
            "security": [],
            "parameters": [
                {
                    "name": "token",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "As in attachments[].url or payload_url.",
                }
            ],
            "responses": {
                "200": {
                    "description": "The bytes.",
                    "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                },
                **error_content("not_found"),
            },
        }
    }
}


def add_ingest_endpoints(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: put the hand-written ingest paths in the document."""
    result.setdefault("paths", {}).update(INGEST_PATHS)
    result["paths"].update(FILE_PATHS)
    result.setdefault("components", {}).setdefault("schemas", {}).update(RECEIPT_SCHEMAS)
    return result
