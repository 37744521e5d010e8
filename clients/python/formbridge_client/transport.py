"""One HTTP exchange with FormBridge over the standard library: separate connect and read
timeouts, no redirect followed (urllib would carry Authorization to wherever one points), JSON
in and out, and every failure as a typed error carrying the server's code and request id."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from typing import Any

from . import errors

MAX_RETRY_AFTER = 300.0


def retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, moment.timestamp() - time.time()), MAX_RETRY_AFTER)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A FormBridge API never redirects: the client follows none (the 3xx is an error)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _timed(base: type[http.client.HTTPConnection], read_timeout: float):
    """A connection class that connects within its timeout, then reads within `read_timeout`."""

    class Timed(base):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            super().connect()
            self.sock.settimeout(read_timeout)

    return Timed


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req):
        return self.do_open(_timed(http.client.HTTPConnection, self.read_timeout), req)


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def https_open(self, req):
        connection = _timed(http.client.HTTPSConnection, self.read_timeout)
        return self.do_open(connection, req, context=self._context)


class Transport:
    def __init__(self, base_url: str, *, connect_timeout: float, read_timeout: float) -> None:
        self.base_url = base_url
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._openers: dict[float, urllib.request.OpenerDirector] = {}

    def _opener(self, read_timeout: float) -> urllib.request.OpenerDirector:
        if read_timeout not in self._openers:
            self._openers[read_timeout] = urllib.request.build_opener(
                _NoRedirects, _HTTP(read_timeout), _HTTPS(read_timeout)
            )
        return self._openers[read_timeout]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        *,
        read_timeout: float | None = None,
    ) -> Any:
        request = urllib.request.Request(  # noqa: S310 (base_url is http(s), checked by Client)
            self.base_url + path, data=body, method=method, headers=headers
        )
        opener = self._opener(read_timeout or self.read_timeout)
        try:
            with opener.open(request, timeout=self.connect_timeout) as response:
                return _json(response.read(), response.status, response.headers)
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise errors.ConnectionFailed(f"cannot reach {self.base_url}: {reason}") from None

    def _error(self, response: urllib.error.HTTPError) -> errors.FormBridgeError:
        request_id = response.headers.get("X-Request-Id", "")
        if 300 <= response.code < 400:
            return errors.InvalidRequest(
                f"{self.base_url} answered a redirect ({response.code}) to "
                f"{response.headers.get('Location', '?')}; not followed, so credentials stay "
                "here: give the final URL as base_url",
                code="redirect_refused",
                status=response.code,
                request_id=request_id,
            )
        try:
            body = json.loads(response.read() or b"{}")
        except ValueError:
            body = {}
        error = body.get("error", {}) if isinstance(body, dict) else {}
        return errors.error_for(response.code)(
            error.get("message") or f"HTTP {response.code}",
            code=error.get("code", ""),
            status=response.code,
            retry_after=retry_after(response.headers.get("Retry-After")),
            body=body if isinstance(body, dict) else {},
            request_id=request_id,
        )


def _json(raw: bytes, status: int, headers: Any) -> Any:
    """A success's body; one that is not JSON (a proxy's page) is a typed, retryable error."""
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        raise errors.InvalidResponse(
            f"HTTP {status} with a body that is not JSON ({raw[:60]!r}): not FormBridge's answer",
            code="invalid_response",
            status=status,
            request_id=headers.get("X-Request-Id", ""),
        ) from None
