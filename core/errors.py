"""Domain errors: what services raise when they refuse, with a stable snake_case code.

They know nothing of HTTP. The API edge (core/http_errors.py) maps each class to its status in
one table; commands and the admin show the message (and the field, when one is named).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the caller can act on."""

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.code = code or self.code
        # The input at fault, dotted into nested objects ("config.url").
        self.field = field
        self.retry_after = retry_after
        # Members beside the error that tell the client what to do next (an earlier id, say).
        self.extra = extra or {}
        # Members inside the error object that say what exactly is wrong (a schema's violations).
        self.details = details or {}


class Invalid(DomainError):
    """The input cannot be accepted as given."""

    code = "invalid_request"


class Unprocessable(DomainError):
    """The input is well formed but breaks a rule its receiver set (a form's JSON Schema, say)."""

    code = "unprocessable"


class Unsupported(DomainError):
    """The input comes in a form we do not read (a media type, say)."""

    code = "unsupported_media_type"


class Unauthenticated(DomainError):
    """The request does not prove who sent it (a signature that does not verify, say)."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """The sender is known, or does not need to be, and still may not do this."""

    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """Refused because of what is already stored (a replayed request, say)."""

    code = "conflict"


class TooLarge(DomainError):
    code = "payload_too_large"


class LimitReached(DomainError):
    """A rate or quota is used up; retry_after says when to come back."""

    code = "rate_limited"


class Unavailable(DomainError):
    """Something we depend on is down; nothing was stored, retry shortly."""

    code = "unavailable"
