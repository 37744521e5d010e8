"""Errors carry FormBridge's own error code (`error.code` in every error body)."""

from __future__ import annotations


class FormBridgeError(Exception):
    """FormBridge refused the request, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        body: dict | None = None,
        request_id: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.body = body or {}
        # FormBridge's X-Request-Id: quote it to the operator, who finds the request's log lines.
        self.request_id = request_id

    @property
    def errors(self) -> list[dict]:
        """A schema violation's errors (pointer, message), or none."""
        error = self.body.get("error", {}) if isinstance(self.body, dict) else {}
        return list(error.get("errors", [])) if isinstance(error, dict) else []

    @property
    def retryable(self) -> bool:
        """Worth sending again later: unreachable, 408, 425, 429 or 5xx."""
        return self.status is None or self.status in (408, 425, 429) or self.status >= 500

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, {str(self)!r})"


class ConnectionFailed(FormBridgeError):
    """No answer: DNS, refused connection, timeout."""


class AuthenticationError(FormBridgeError):
    """401: a bad signature, timestamp, tenant or API key."""


class PermissionDenied(FormBridgeError):
    """403: the API key lacks the scope."""


class InvalidRequest(FormBridgeError):
    """400, 404, 409, 413, 415, 422: this request will never be accepted as it is."""


class RateLimited(FormBridgeError):
    """429: too many requests or over the daily quota; `retry_after` says when to come back."""


class ServerError(FormBridgeError):
    """5xx: FormBridge or its database is down; the same request can be sent again."""


class InvalidResponse(FormBridgeError):
    """A success status with a body that is not FormBridge's JSON (a proxy or captive portal's
    page): the request's fate is unknown, and sending it again is safe."""

    @property
    def retryable(self) -> bool:
        return True


def error_for(status: int) -> type[FormBridgeError]:
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDenied
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    return InvalidRequest
