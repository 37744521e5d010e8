"""Generic REST webhooks: canonical event (or its JMESPath mapping) as JSON, Standard Webhooks
signature, auth modes. Sent through connectors/http.py like every vendor's request (SSRF-pinned,
no redirects, bounded response capture); OAuth2 tokens from connectors/oauth2.py."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from core.errors import Invalid
from delivery import mapping, signing, ssrf
from delivery.headers import clean_headers, header_name_problem
from delivery.models import AttemptOutcome, AuthMode
from delivery.retry import classify_status

from . import http, oauth2
from .base import (
    RESPONSE_BODY_LIMIT,
    Clock,
    Connector,
    DestinationSnapshot,
    Job,
    Outcome,
    invalid_as,
    mapped,
)
from .http import USER_AGENT

METHODS = ("POST", "PUT", "PATCH")
REDACTED = "[redacted]"
# What each auth mode needs in auth_config (its secret goes in auth_secret).
AUTH_FIELDS = {
    AuthMode.NONE: (),
    AuthMode.API_KEY_HEADER: ("header",),
    AuthMode.BEARER: (),
    AuthMode.BASIC: ("username",),
    AuthMode.OAUTH2_CLIENT_CREDENTIALS: ("token_url", "client_id"),
}


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


def _redacted(
    headers: dict[str, str], secret_headers: set[str], custom: dict[str, str]
) -> dict[str, str]:
    # A tenant's own headers are often credentials (X-Api-Token): none is kept in the log.
    hidden = {"authorization", "proxy-authorization", "cookie"} | secret_headers
    hidden |= {name.lower() for name in custom}
    return {k: (REDACTED if k.lower() in hidden else v) for k, v in headers.items()}


class RestConnector(Connector):
    kind = "rest"
    config_help = '{"url", "method": "POST", "headers": {...}, "mapping": "<JMESPath>"}'
    label = "REST webhook"
    uses_auth_modes = True
    signs = True
    credential_targets = ("url",)

    def __init__(self) -> None:
        self.tokens = oauth2.TokenCache("rest")

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        return validate_config(config)

    def validate_auth(
        self, config: dict[str, Any], mode: str, auth_config: dict[str, Any], secret: str,
        *, reference: bool,
    ) -> dict[str, Any]:  # fmt: skip
        """The generic auth modes: each mode's auth_config keys, a secret for all but none, an
        API-key header name that is a header name, a token_url the SSRF guard accepts."""
        if mode not in AUTH_FIELDS:
            raise Invalid(f"choose from {', '.join(AUTH_FIELDS)}", field="auth_mode")
        missing = [f for f in AUTH_FIELDS[mode] if not auth_config.get(f)]
        if mode == AuthMode.API_KEY_HEADER:
            auth_config.setdefault("header", "X-API-Key")
            missing = []
            problem = header_name_problem(auth_config["header"])
            if problem:
                raise Invalid(f"header: {problem}", field="auth_config")
        if missing:
            raise Invalid(f"{mode} needs {', '.join(missing)}", field="auth_config")
        if mode != AuthMode.NONE and not secret:
            raise Invalid(f"{mode} needs a secret", field="auth_secret")
        if mode == AuthMode.OAUTH2_CLIENT_CREDENTIALS:
            try:
                ssrf.check_url(auth_config["token_url"])
            except ssrf.UnsafeDestination as exc:
                raise Invalid(f"token_url: {exc}", field="auth_config") from None
        return auth_config

    async def _token(self, destination: DestinationSnapshot) -> str:
        auth = destination.auth_config
        token = await self.tokens.client_credentials(
            auth["token_url"], owner=str(destination.id), client_id=auth.get("client_id", ""),
            client_secret=destination.auth_secret,
            extra={name: auth[name] for name in ("scope", "audience") if auth.get(name)},
            timeout=destination.timeout_seconds, connect_timeout=5.0,
        )  # fmt: skip
        return token.access_token

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
            return {"Authorization": f"Bearer {await self._token(destination)}"}, set()
        return {}, set()

    async def build_request(
        self, job: Job, rendered: Any
    ) -> tuple[str, dict[str, str], bytes, set[str]]:
        """The request for the event as its mapping rendered it (raises TokenRefused)."""
        destination = job.destination
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
            # During a rotation's overlap one signature per secret, newest first (Standard
            # Webhooks: space-separated; a receiver accepts if any verifies with its secret).
            headers["webhook-signature"] = " ".join(
                signing.sign(secret, message_id=message_id, timestamp=timestamp, body=body)
                for secret in (destination.signing_secret, *destination.previous_signing_secrets)
            )
        auth_headers, secret_headers = await self._auth_headers(destination)
        headers.update(auth_headers)
        return destination.config.get("method", "POST"), headers, body, secret_headers

    async def send(self, job: Job) -> Outcome:
        destination, clock = job.destination, Clock()
        url = destination.config["url"]
        rendered = await mapped(clock, job, destination.config.get("mapping"), request_url=url)
        if isinstance(rendered, Outcome):
            return rendered
        try:
            method, headers, body, secret_headers = await self.build_request(job, rendered)
        except oauth2.TokenRefused as exc:
            return clock.outcome(exc.outcome, error=f"auth: {exc}", request_url=url)
        sent = {"request_method": method, "request_url": url,
                "request_headers": _redacted(headers, secret_headers,
                                             destination.config.get("headers") or {})}  # fmt: skip
        try:
            reply = await http.request(
                method, url, headers=headers, body=body, limit=RESPONSE_BODY_LIMIT,
                timeout=destination.timeout_seconds,
                connect_timeout=destination.connect_timeout_seconds,
            )  # fmt: skip
        except http.Unreachable as exc:
            return clock.outcome(exc.outcome, error=str(exc), **sent)
        outcome = classify_status(reply.status)
        return clock.outcome(
            outcome,
            error="" if outcome is AttemptOutcome.SUCCESS else f"HTTP {reply.status}",
            disable_reason="the receiver answered 410 Gone" if reply.status == 410 else "",
            **sent,
            **http.reply_fields(reply),
        )
