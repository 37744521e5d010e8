"""The API edge's errors: one shape for every response, {"error": {"code", "message"}}, and the
one table from domain errors (core/errors.py) to HTTP statuses."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.views import exception_handler as drf_default_handler

from . import errors


class ApiError(Exception):
    """A request we refuse, with a stable snake_case code the client can branch on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, str] | None = None,
        details: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.fields = fields
        # Top-level members beside "error" that tell the client what to do next.
        self.extra = extra or {}
        # Members inside the error object (a schema's violations, say).
        self.details = details or {}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    fields: dict[str, list[str]] | None = None,
    extra: dict[str, str] | None = None,
    details: dict | None = None,
) -> JsonResponse:
    error = {"code": code, "message": message, **({"fields": fields} if fields else {})}
    error.update(details or {})
    response = JsonResponse({"error": error, **(extra or {})}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# The HTTP status of each domain error, decided here and nowhere else.
STATUS_OF_DOMAIN_ERROR: dict[type[errors.DomainError], int] = {
    errors.Invalid: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.Unsupported: 415,
    errors.Unprocessable: 422,
    errors.LimitReached: 429,
    errors.Unavailable: 503,
}


def as_api_error(refusal: ApiError | errors.DomainError) -> ApiError:
    """A refusal as the edge answers it: an ApiError as it is, a domain error by the table."""
    if isinstance(refusal, ApiError):
        return refusal
    error = refusal
    status = next(
        (code for cls, code in STATUS_OF_DOMAIN_ERROR.items() if isinstance(error, cls)), 400
    )
    return ApiError(
        status,
        error.code,
        str(error),
        headers={"Retry-After": str(error.retry_after)} if error.retry_after is not None else None,
        fields={error.field: [error.message]} if error.field else None,
        extra=error.extra,
        details=error.details,
    )


def api_error_response(error: ApiError) -> JsonResponse:
    return error_response(
        error.status,
        error.code,
        error.message,
        error.headers,
        error.fields,
        error.extra,
        error.details,
    )


# DRF raises its own exceptions; map them onto the same shape with stable codes.
_DRF_CODES = {
    drf_exceptions.NotAuthenticated: "missing_api_key",
    drf_exceptions.AuthenticationFailed: "invalid_api_key",
    drf_exceptions.PermissionDenied: "forbidden",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.ParseError: "invalid_json",
    drf_exceptions.ValidationError: "invalid_request",
    drf_exceptions.Throttled: "rate_limited",
}


def _unavailable(code: str, message: str) -> ApiError:
    return ApiError(503, code, message, headers={"Retry-After": "5"})


def database_unavailable() -> ApiError:
    """The database cannot be reached: nothing was stored, the caller should retry."""
    return _unavailable(
        "database_unavailable",
        "Storage is unavailable right now; nothing was stored. Retry shortly.",
    )


def drf_exception_handler(exc, context):
    if isinstance(exc, ApiError | errors.DomainError):
        return api_error_response(as_api_error(exc))
    if isinstance(exc, OperationalError | InterfaceError):
        return api_error_response(database_unavailable())
    response = drf_default_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    detail = response.data
    if isinstance(exc, drf_exceptions.ValidationError):
        message = "Invalid request."
        body = {"error": {"code": code, "message": message, "fields": detail}}
    else:
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)
        body = {"error": {"code": code, "message": message}}
    response.data = body
    return response
