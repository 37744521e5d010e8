"""Generic REST webhooks: canonical event (or its JMESPath mapping) as JSON, Standard Webhooks
signature, auth modes, SSRF-pinned connections, bounded response capture."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import jmespath
from django.utils import timezone

from core.errors import Invalid
from core.storable import safe_text
from delivery import aio, mapping, signing, ssrf
from delivery.headers import clean_headers
from delivery.models import AttemptOutcome, AuthMode
from delivery.retry import classify_status, parse_retry_after

from . import http
from .base import (
    RESPONSE_BODY_LIMIT,
    Connector,
    DestinationSnapshot,
    Job,
    Outcome,
    invalid_as,
)
from .http import USER_AGENT, checked_target, pinned_url, response_headers, server_hostname

METHODS = ("POST", "PUT", "PATCH")
REDACTED = "[redacted]"
# Seconds before a cached OAuth2 token's expiry at which we fetch a new one.
TOKEN_EXPIRY_MARGIN = 30.0


class AuthFailure(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    url = config.get("url")
    if not isinstance(url, str) or not url:
        raise Invalid("a rest destination needs a url", field="url")
    with invalid_as("url"):
        ssrf.check_url(url)
    method = str(config.get("method", "POST")).upper()
    if method not in METHODS:
        raise Invalid(f"must be one of {', '.join(METHODS)}", field="method")
    with invalid_as("headers"):
        headers = clean_headers(config.get("headers") or {})
    if config.get("mapping") is not None:
        with invalid_as("mapping"):
            mapping.validate(config["mapping"])
    return {
        k: v for k, v in {**config, "method": method, "headers": headers}.items() if v is not None
    }


class _TokenCache:
    """OAuth2 client-credentials tokens, per process, until shortly before they expire."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}

    def _fresh(self, key: str) -> str | None:
        cached = self._tokens.get(key)
        return cached[0] if cached and cached[1] > time.monotonic() else None

    async def get(self, session: aiohttp.ClientSession, destination: DestinationSnapshot) -> str:
        key = hashlib.sha256(
            json.dumps(
                [str(destination.id), destination.auth_config, destination.auth_secret]
            ).encode()
        ).hexdigest()
        token = self._fresh(key)
        if token:
            return token
        locks = aio.loop_resource("rest.token-locks", dict)
        # Single flight: a batch of concurrent sends asks the token endpoint once, not N times.
        async with locks.setdefault(key, asyncio.Lock()):
            token = self._fresh(key)
            if token is None:
                token, expires_in = await self._fetch(session, destination)
                expires = time.monotonic() + max(0.0, expires_in - TOKEN_EXPIRY_MARGIN)
                self._tokens[key] = (token, expires)
        return token

    async def _fetch(
        self, session: aiohttp.ClientSession, destination: DestinationSnapshot
    ) -> tuple[str, float]:
        auth = destination.auth_config
        try:
            target = await checked_target(auth["token_url"])
        except ssrf.UnsafeDestination as exc:
            raise AuthFailure(f"token_url refused: {exc}", permanent=True) from None
        form = {"grant_type": "client_credentials", "client_id": auth.get("client_id", "")}
        form["client_secret"] = destination.auth_secret
        for optional in ("scope", "audience"):
            if auth.get(optional):
                form[optional] = auth[optional]
        try:
            async with session.post(
                pinned_url(auth["token_url"], target),
                data=form,
                headers={"Host": target.netloc, "User-Agent": USER_AGENT},
                allow_redirects=False,
                server_hostname=server_hostname(target),
                timeout=aiohttp.ClientTimeout(total=destination.timeout_seconds, sock_connect=5.0),
            ) as response:
                status = response.status
                text = await response.content.read(64 * 1024)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AuthFailure(
                f"token request failed: {type(exc).__name__}", permanent=False
            ) from None
        if status != 200:
            permanent = classify_status(status) is AttemptOutcome.PERMANENT
            raise AuthFailure(f"token endpoint answered {status}", permanent=permanent)
        try:
            data = json.loads(text)
            return str(data["access_token"]), float(data.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise AuthFailure(
                "token endpoint answered without access_token", permanent=True
            ) from None

    def clear(self) -> None:
        self._tokens.clear()


def _redacted(
    headers: dict[str, str], secret_headers: set[str], custom: dict[str, str]
) -> dict[str, str]:
    # A tenant's own headers are often credentials (X-Api-Token): none is kept in the log.
    hidden = {"authorization", "proxy-authorization", "cookie"} | secret_headers
    hidden |= {name.lower() for name in custom}
    return {k: (REDACTED if k.lower() in hidden else v) for k, v in headers.items()}


class RestConnector(Connector):
    kind = "rest"
    label = "REST webhook"
    uses_auth_modes = True
    credential_targets = ("url",)

    def __init__(self) -> None:
        self.tokens = _TokenCache()

    @property
    def session(self) -> aiohttp.ClientSession:
        return http.session()

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        return validate_config(config)

    async def _auth_headers(
        self, destination: DestinationSnapshot
    ) -> tuple[dict[str, str], set[str]]:
        mode, secret = destination.auth_mode, destination.auth_secret
        if mode == AuthMode.API_KEY_HEADER:
            name = destination.auth_config.get("header", "X-API-Key")
            return {name: secret}, {name.lower()}
        if mode == AuthMode.BEARER:
            return {"Authorization": f"Bearer {secret}"}, set()
        if mode == AuthMode.BASIC:
            pair = f"{destination.auth_config.get('username', '')}:{secret}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}, set()
        if mode == AuthMode.OAUTH2_CLIENT_CREDENTIALS:
            token = await self.tokens.get(self.session, destination)
            return {"Authorization": f"Bearer {token}"}, set()
        return {}, set()

    async def build_request(self, job: Job) -> tuple[str, dict[str, str], bytes, set[str]]:
        destination = job.destination
        rendered = await mapping.render_async(job.event, destination.config.get("mapping"))
        body = json.dumps(rendered, separators=(",", ":")).encode()
        headers = {
            **destination.config.get("headers", {}),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": str(job.delivery_id),
            "X-FormBridge-Submission-Id": job.submission_id,
        }
        if destination.signing_secret:
            message_id = f"msg_{job.delivery_id.hex}"  # the same on every retry: receivers dedupe
            timestamp = int(time.time())
            headers["webhook-id"] = message_id
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = signing.sign(
                destination.signing_secret, message_id=message_id, timestamp=timestamp, body=body
            )
        auth_headers, secret_headers = await self._auth_headers(destination)
        headers.update(auth_headers)
        return destination.config.get("method", "POST"), headers, body, secret_headers

    async def send(self, job: Job) -> Outcome:
        destination = job.destination
        url = destination.config["url"]
        started_at = timezone.now()
        clock = time.perf_counter()

        def finish(outcome: AttemptOutcome, **fields: Any) -> Outcome:
            duration_ms = int((time.perf_counter() - clock) * 1000)
            return Outcome(
                outcome=outcome,
                started_at=started_at,
                duration_ms=duration_ms,
                request_url=url,
                **fields,
            )

        try:
            target = await checked_target(url)  # re-resolved now: DNS may have changed since saving
        except ssrf.UnsafeDestination as exc:
            return finish(
                AttemptOutcome.RETRYABLE if exc.transient else AttemptOutcome.PERMANENT,
                error=str(exc),
            )
        try:
            method, headers, body, secret_headers = await self.build_request(job)
        except AuthFailure as exc:
            return finish(
                AttemptOutcome.PERMANENT if exc.permanent else AttemptOutcome.RETRYABLE,
                error=f"auth: {exc}",
            )
        except mapping.MappingBusy as exc:
            return finish(AttemptOutcome.RETRYABLE, error=f"mapping: {exc}")
        except (jmespath.exceptions.JMESPathError, mapping.MappingInvalid) as exc:
            return finish(AttemptOutcome.PERMANENT, error=f"mapping failed: {exc}")
        except mapping.MappingLimitExceeded as exc:
            # The same event and mapping would exceed it again: retrying only wastes the loop.
            return finish(AttemptOutcome.PERMANENT, error=f"mapping refused: {exc}")
        stored_headers = _redacted(headers, secret_headers, destination.config.get("headers") or {})
        try:
            async with self.session.request(
                method,
                pinned_url(url, target),
                data=body,
                headers={**headers, "Host": target.netloc},
                allow_redirects=False,  # a redirect could point anywhere, private networks too
                server_hostname=server_hostname(target),
                timeout=aiohttp.ClientTimeout(
                    total=destination.timeout_seconds,
                    sock_connect=destination.connect_timeout_seconds,
                ),
            ) as response:
                status = response.status
                headers_back = response_headers(response.headers)
                retry_after = response.headers.get("Retry-After")
                captured = b""
                while len(captured) < RESPONSE_BODY_LIMIT:
                    chunk = await response.content.read(RESPONSE_BODY_LIMIT - len(captured))
                    if not chunk:
                        break
                    captured += chunk
        except TimeoutError as exc:
            return finish(
                AttemptOutcome.RETRYABLE,
                error=f"timeout: {type(exc).__name__}",
                request_method=method,
                request_headers=stored_headers,
            )
        except aiohttp.ClientError as exc:
            return finish(
                AttemptOutcome.RETRYABLE,
                error=f"{type(exc).__name__}: {exc}"[:500],
                request_method=method,
                request_headers=stored_headers,
            )
        outcome = classify_status(status)
        return finish(
            outcome,
            status_code=status,
            error="" if outcome is AttemptOutcome.SUCCESS else f"HTTP {status}",
            retry_after=parse_retry_after(retry_after, now=datetime.now(UTC)),
            disable_reason="the receiver answered 410 Gone" if status == 410 else "",
            request_method=method,
            request_headers=stored_headers,
            response_headers=headers_back,
            response_body=safe_text(captured, limit=RESPONSE_BODY_LIMIT),
        )
