"""Header names and values a tenant may set on outgoing requests (custom headers, the API-key
header): RFC 9110 tokens and field content, never one FormBridge or the transport controls."""

from __future__ import annotations

import re

# RFC 9110 §5.6.2: token = 1*tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}")
# RFC 9110 §5.5 field-content, visible ASCII only (obs-text is not portable): no CR, LF, NUL.
_FIELD_VALUE = re.compile(r"[\x21-\x7e]([\t\x20-\x7e]{0,4094}[\x21-\x7e])?|")
# Set by FormBridge (signature, idempotency, body framing) or by the transport (hop-by-hop).
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "cookie",
        "expect",
        "host",
        "idempotency-key",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "webhook-id",
        "webhook-signature",
        "webhook-timestamp",
        "x-formbridge-submission-id",
    }
)


def header_name_problem(name: object) -> str:
    """Why `name` may not be set on a request ("" when it may)."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        return f"{name!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)"
    if name.lower() in RESERVED_HEADERS:
        return f"{name} is set by FormBridge"
    return ""


def header_value_problem(name: str, value: object) -> str:
    if not isinstance(value, str) or not _FIELD_VALUE.fullmatch(value):
        return (
            f"the value of {name} must be visible ASCII text without line breaks "
            "or surrounding spaces"
        )
    return ""


def clean_headers(headers: object) -> dict[str, str]:
    """Custom headers checked as a whole; raises ValueError naming every problem found."""
    if not isinstance(headers, dict):
        raise ValueError("headers must be an object of string values")
    problems = [
        problem
        for name, value in headers.items()
        for problem in (header_name_problem(name), header_value_problem(str(name), value))
        if problem
    ]
    lowered = [str(name).lower() for name in headers]
    if len(set(lowered)) != len(lowered):
        problems.append("a header is given twice (names are case-insensitive)")
    if problems:
        raise ValueError("; ".join(problems))
    return dict(headers)
