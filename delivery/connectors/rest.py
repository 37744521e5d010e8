"""Generic REST webhooks: canonical event (or its JMESPath mapping) as JSON, Standard Webhooks
signature, auth modes, SSRF-pinned connections, bounded response capture."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jmespath
from django.utils import timezone

import formbridge
from delivery import signing, ssrf
from delivery.models import AttemptOutcome, AuthMode
from delivery.retry import classify_status, parse_retry_after

from . import register
from .base import RESPONSE_BODY_LIMIT, Connector, DestinationSnapshot, Job, Outcome

USER_AGENT = f"FormBridge/{formbridge.__version__}"
METHODS = ("POST", "PUT", "PATCH")
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "idempotency-key",
        "x-formbridge-submission-id",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "authorization",
    }
)
REDACTED = "[redacted]"
# Seconds before a cached OAuth2 token's expiry at which we fetch a new one.
TOKEN_EXPIRY_MARGIN = 30.0


class AuthFailure(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@lru_cache(maxsize=1024)
def compile_mapping(mapping_json: str) -> Any:
    """A JMESPath expression (str) or an object of field -> expression, compiled once."""
    mapping = json.loads(mapping_json)
    if isinstance(mapping, str):
        return jmespath.compile(mapping)
    return {name: jmespath.compile(expression) for name, expression in mapping.items()}


def render_body(event: dict[str, Any], mapping: Any) -> Any:
    if not mapping:
        return event
    compiled = compile_mapping(json.dumps(mapping, sort_keys=True))
    if isinstance(compiled, dict):
        return {name: expression.search(event) for name, expression in compiled.items()}
    return compiled.search(event)


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    url = config.get("url")
    if not isinstance(url, str) or not url:
        raise ValueError("a rest destination needs a url")
    ssrf.check_url(url)
    method = str(config.get("method", "POST")).upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    headers = config.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ValueError("headers must be an object of string values")
    clashing = sorted(h for h in headers if h.lower() in RESERVED_HEADERS)
    if clashing:
        raise ValueError(f"these headers are set by FormBridge: {', '.join(clashing)}")
    mapping = config.get("mapping")
    if mapping is not None:
        if not isinstance(mapping, str | dict) or (
            isinstance(mapping, dict) and not all(isinstance(v, str) for v in mapping.values())
        ):
            raise ValueError("mapping must be a JMESPath expression or an object of expressions")
        try:
            compile_mapping(json.dumps(mapping, sort_keys=True))
        except jmespath.exceptions.JMESPathError as exc:
            raise ValueError(f"mapping does not compile: {exc}") from None
    return {
        k: v for k, v in {**config, "method": method, "headers": headers}.items() if v is not None
    }


class _TokenCache:
    """OAuth2 client-credentials tokens, per process, until shortly before they expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fetch_locks: dict[str, threading.Lock] = {}
        self._tokens: dict[str, tuple[str, float]] = {}

    def _fresh(self, key: str) -> str | None:
        cached = self._tokens.get(key)
        return cached[0] if cached and cached[1] > time.monotonic() else None

    def get(self, client: httpx.Client, destination: DestinationSnapshot) -> str:
        key = hashlib.sha256(
            json.dumps(
                [str(destination.id), destination.auth_config, destination.auth_secret]
            ).encode()
        ).hexdigest()
        token = self._fresh(key)
        if token:
            return token
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        # Single flight: a batch of concurrent sends asks the token endpoint once, not N times.
        with fetch_lock:
            token = self._fresh(key)
            if token is None:
                token, expires_in = self._fetch(client, destination)
                expires = time.monotonic() + max(0.0, expires_in - TOKEN_EXPIRY_MARGIN)
                self._tokens[key] = (token, expires)
        return token

    def _fetch(self, client: httpx.Client, destination: DestinationSnapshot) -> tuple[str, float]:
        auth = destination.auth_config
        try:
            target = ssrf.check_url(auth["token_url"])
        except ssrf.UnsafeDestination as exc:
            raise AuthFailure(f"token_url refused: {exc}", permanent=True) from None
        form = {"grant_type": "client_credentials", "client_id": auth.get("client_id", "")}
        form["client_secret"] = destination.auth_secret
        for optional in ("scope", "audience"):
            if auth.get(optional):
                form[optional] = auth[optional]
        try:
            response = client.post(
                _pinned_url(auth["token_url"], target),
                data=form,
                headers={"Host": target.netloc, "User-Agent": USER_AGENT},
                extensions=_extensions(target),
                timeout=httpx.Timeout(destination.timeout_seconds, connect=5.0),
            )
        except httpx.HTTPError as exc:
            raise AuthFailure(
                f"token request failed: {type(exc).__name__}", permanent=False
            ) from None
        if response.status_code != 200:
            permanent = classify_status(response.status_code) is AttemptOutcome.PERMANENT
            raise AuthFailure(
                f"token endpoint answered {response.status_code}", permanent=permanent
            )
        try:
            data = response.json()
            return str(data["access_token"]), float(data.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise AuthFailure(
                "token endpoint answered without access_token", permanent=True
            ) from None

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._fetch_locks.clear()


def _pinned_url(url: str, target: ssrf.Target) -> str:
    """The URL with its host replaced by the address the SSRF guard checked."""
    parts = urlsplit(url)
    address = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    return urlunsplit(
        (parts.scheme, f"{address}:{target.port}", parts.path or "/", parts.query, "")
    )


def _extensions(target: ssrf.Target) -> dict[str, str]:
    # TLS must still verify the certificate for the name, not the pinned address.
    return {"sni_hostname": target.host} if target.scheme == "https" else {}


def _redacted(headers: dict[str, str], secret_headers: set[str]) -> dict[str, str]:
    hidden = {"authorization", "proxy-authorization", "cookie"} | secret_headers
    return {k: (REDACTED if k.lower() in hidden else v) for k, v in headers.items()}


@register
class RestConnector(Connector):
    kind = "rest"

    def __init__(self) -> None:
        self._local = threading.local()
        self.tokens = _TokenCache()

    @property
    def client(self) -> httpx.Client:
        """One client (and keep-alive pool) per sending thread: a pool shared by all threads
        serialises them on its lock (a third of a batch's time, measured)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(
                follow_redirects=False,  # a redirect could point anywhere, private networks too
                trust_env=False,
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=20),
            )
        return client

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        return validate_config(config)

    def _auth_headers(self, destination: DestinationSnapshot) -> tuple[dict[str, str], set[str]]:
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
            token = self.tokens.get(self.client, destination)
            return {"Authorization": f"Bearer {token}"}, set()
        return {}, set()

    def build_request(self, job: Job) -> tuple[str, dict[str, str], bytes, set[str]]:
        destination = job.destination
        body = json.dumps(
            render_body(job.event, destination.config.get("mapping")), separators=(",", ":")
        ).encode()
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
        auth_headers, secret_headers = self._auth_headers(destination)
        headers.update(auth_headers)
        return destination.config.get("method", "POST"), headers, body, secret_headers

    def send(self, job: Job) -> Outcome:
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
            target = ssrf.check_url(url)  # re-resolved now: DNS may have changed since saving
        except ssrf.UnsafeDestination as exc:
            transient = str(exc).startswith("cannot resolve")
            return finish(
                AttemptOutcome.RETRYABLE if transient else AttemptOutcome.PERMANENT, error=str(exc)
            )
        try:
            method, headers, body, secret_headers = self.build_request(job)
        except AuthFailure as exc:
            return finish(
                AttemptOutcome.PERMANENT if exc.permanent else AttemptOutcome.RETRYABLE,
                error=f"auth: {exc}",
            )
        except jmespath.exceptions.JMESPathError as exc:
            return finish(AttemptOutcome.PERMANENT, error=f"mapping failed: {exc}")
        stored_headers = _redacted(headers, secret_headers)
        deadline = time.monotonic() + destination.timeout_seconds
        try:
            with self.client.stream(
                method,
                _pinned_url(url, target),
                content=body,
                headers={**headers, "Host": target.netloc},
                extensions=_extensions(target),
                timeout=httpx.Timeout(
                    destination.timeout_seconds, connect=destination.connect_timeout_seconds
                ),
            ) as response:
                captured = b""
                for chunk in response.iter_raw():
                    captured += chunk
                    if len(captured) >= RESPONSE_BODY_LIMIT or time.monotonic() > deadline:
                        break
        except httpx.TimeoutException as exc:
            return finish(
                AttemptOutcome.RETRYABLE,
                error=f"timeout: {type(exc).__name__}",
                request_method=method,
                request_headers=stored_headers,
            )
        except httpx.HTTPError as exc:
            return finish(
                AttemptOutcome.RETRYABLE,
                error=f"{type(exc).__name__}: {exc}"[:500],
                request_method=method,
                request_headers=stored_headers,
            )
        status = response.status_code
        outcome = classify_status(status)
        return finish(
            outcome,
            status_code=status,
            error="" if outcome is AttemptOutcome.SUCCESS else f"HTTP {status}",
            retry_after=parse_retry_after(
                response.headers.get("retry-after"), now=datetime.now(UTC)
            ),
            disable_reason="the receiver answered 410 Gone" if status == 410 else "",
            request_method=method,
            request_headers=stored_headers,
            response_headers={k: v[:256] for k, v in list(response.headers.items())[:30]},
            response_body=captured[:RESPONSE_BODY_LIMIT].decode("utf-8", "replace"),
        )
