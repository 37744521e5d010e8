"""HTTP for every connector that speaks it: one aiohttp session per event loop, the SSRF guard
re-checked at send time with the connection pinned to the checked address, redirects never
followed, bounded reads.

Every connector (REST webhooks, Slack, HubSpot, Salesforce, OAuth2 token endpoints) calls
`request()`, which answers a Reply or raises Unreachable, never an aiohttp error.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

import core
from core.storable import safe_text
from delivery import aio, ssrf
from delivery.models import AttemptOutcome
from delivery.retry import parse_retry_after

from .base import RESPONSE_BODY_LIMIT

USER_AGENT = f"FormBridge/{core.__version__}"
# Vendor answers are parsed (token responses, error arrays): read more than the 1 KiB we store.
REPLY_LIMIT = 64 * 1024
_MAX_HEADERS = 30


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class Unreachable(Exception):
    """No answer: refused by the SSRF guard, a timeout, a connection error."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient

    @property
    def outcome(self) -> AttemptOutcome:
        """What the attempt comes to: a retry, unless asking again cannot help."""
        return AttemptOutcome.RETRYABLE if self.transient else AttemptOutcome.PERMANENT


async def checked_target(url: str) -> ssrf.Target:
    """ssrf.check_url, with a DNS lookup (blocking) moved off the event loop."""
    if ssrf.is_address_literal(url):
        return ssrf.check_address_url(url)
    return await asyncio.to_thread(ssrf.check_url, url)


def pinned_url(url: str, target: ssrf.Target) -> str:
    """The URL with its host replaced by the address the SSRF guard checked."""
    parts = urlsplit(url)
    address = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    return urlunsplit(
        (parts.scheme, f"{address}:{target.port}", parts.path or "/", parts.query, "")
    )


def server_hostname(target: ssrf.Target) -> str | None:
    # TLS must still verify the certificate for the name, not the pinned address.
    return target.host if target.scheme == "https" else None


def _new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=100, enable_cleanup_closed=True),
        # No cookie jar: a receiver's cookie must never ride along to another delivery.
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        skip_auto_headers=("User-Agent",),
    )


def session() -> aiohttp.ClientSession:
    """One session (and keep-alive pool) per event loop; see delivery.aio."""
    return aio.loop_resource("http.session", _new_session)


def response_headers(headers: Any) -> dict[str, str]:
    return {k.lower(): v[:256] for k, v in list(headers.items())[:_MAX_HEADERS]}


async def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    timeout: float,
    connect_timeout: float,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    body: bytes | None = None,
    limit: int = REPLY_LIMIT,
) -> Reply:
    """One request to `url`, SSRF-checked (resolved again now: DNS may have changed since the
    destination was saved) and pinned, redirects not followed (one could point anywhere, private
    networks too). The body is `json_body` as JSON, `form` form-encoded, or `body` as given."""
    try:
        target = await checked_target(url)
    except ssrf.UnsafeDestination as exc:
        raise Unreachable(f"refused: {exc}", transient=exc.transient) from None
    data: Any = form if body is None else body
    headers = {"User-Agent": USER_AGENT, **headers, "Host": target.netloc}
    if json_body is not None:
        data = json.dumps(json_body, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json; charset=utf-8"
    try:
        async with session().request(
            method,
            pinned_url(url, target),
            data=data,
            headers=headers,
            allow_redirects=False,
            server_hostname=server_hostname(target),
            timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout),
        ) as response:
            return Reply(
                status=response.status,
                headers=response_headers(response.headers),
                body=await _read_up_to(response.content, limit),
            )
    except TimeoutError as exc:
        raise Unreachable(f"timeout: {type(exc).__name__}", transient=True) from None
    except aiohttp.ClientError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}"[:500], transient=True) from None


async def _read_up_to(content: aiohttp.StreamReader, limit: int) -> bytes:
    """The body's first `limit` bytes (one read may return fewer than are coming)."""
    captured = b""
    while len(captured) < limit:
        chunk = await content.read(limit - len(captured))
        if not chunk:
            break
        captured += chunk
    return captured


def reply_fields(reply: Reply) -> dict[str, Any]:
    """What an attempt records of a vendor's answer (the body capped as stored)."""
    return {
        "status_code": reply.status,
        "response_headers": reply.headers,
        "response_body": safe_text(reply.body, limit=RESPONSE_BODY_LIMIT),
        "retry_after": parse_retry_after(reply.headers.get("retry-after"), now=datetime.now(UTC)),
    }
