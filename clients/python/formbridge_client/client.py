"""The FormBridge client: signed submissions, API-key events, the pull inbox.

    client = Client("https://forms.example.com", tenant_id="t_acme", secret="fbs_...")
    client.submit(form_id="contact", payload={"email": "jane@example.com"})
    # {"submission_id": "...", "status": "accepted", "received_at": "...", "deliveries": 2}

Every submission gets its `submission_id` before the first try (a UUIDv7 unless given), so a
retry after a lost answer is answered `duplicate`, never stored twice. Retries back off
exponentially with jitter and honour `Retry-After`.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from . import errors, signing
from .resources import ManagementApi
from .transport import Transport

__version__ = "0.1.0"
USER_AGENT = f"formbridge-client-python/{__version__}"
# Seconds between tries: 0.5, 1, 2, 4 ... with ±50 % jitter, capped.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


def uuid7() -> str:
    """A time-ordered UUID (RFC 9562 version 7): submission ids that sort by creation."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass(frozen=True)
class InboxEvent:
    event_id: str
    event_type: str
    form_id: str
    source: str
    payload: Any
    timestamp: int  # received at, epoch milliseconds
    attempt: int  # how many times it has been leased


@dataclass(frozen=True)
class InboxPage:
    events: list[InboxEvent]
    next_cursor: str | None


class Client(ManagementApi):
    """One FormBridge installation, as a tenant (signing secret) and/or an API key holder."""

    def __init__(
        self,
        base_url: str,
        tenant_id: str | None = None,
        secret: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`timeout` bounds each read of an answer, `connect_timeout` the connection (a host
        that does not answer at all fails fast); either may be given per call too."""
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id
        self.secret = secret
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self._sleep = sleep
        self._transport = Transport(
            self.base_url, connect_timeout=connect_timeout, read_timeout=timeout
        )

    # --- sending ---

    def submit(
        self,
        *,
        form_id: str,
        payload: dict[str, Any],
        submission_id: str | None = None,
        source: str | None = None,
        event_type: str | None = None,
        submitted_at: datetime | str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        destinations: list[str] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Sign and send one submission (POST /v1/ingest), retrying what may be retried.
        Returns FormBridge's answer: `status` is `accepted` or `duplicate`. `timeout` overrides
        the client's read timeout for this call."""
        if not (self.tenant_id and self.secret):
            raise ValueError("submit() needs tenant_id and secret")
        envelope = self.envelope(
            form_id=form_id, payload=payload, submission_id=submission_id, source=source,
            event_type=event_type, submitted_at=submitted_at, attachments=attachments,
            destinations=destinations,
        )  # fmt: skip
        body = json.dumps(envelope, separators=(",", ":"), default=str).encode()
        try:
            return self._send_with_retries(
                lambda: self._request(
                    "POST", "/v1/ingest", body,
                    lambda: signing.signed_headers(self.tenant_id, self.secret, body), timeout,
                )
            )  # fmt: skip
        except errors.InvalidRequest as exc:
            # The same signed bytes were stored by a try whose answer was lost: that is success.
            if (
                exc.status == 409
                and exc.code == "replayed_request"
                and exc.body.get("submission_id")
            ):
                return {"submission_id": exc.body["submission_id"], "status": "duplicate"}
            raise

    @staticmethod
    def envelope(
        *,
        form_id: str,
        payload: dict[str, Any],
        submission_id: str | None = None,
        source: str | None = None,
        event_type: str | None = None,
        submitted_at: datetime | str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        destinations: list[str] | None = None,
    ) -> dict[str, Any]:
        """The canonical envelope of a submission (its id fixed now, before any try)."""
        if not isinstance(payload, dict):
            raise TypeError("payload must be a dict")
        envelope: dict[str, Any] = {
            "submission_id": submission_id or uuid7(),
            "form_id": form_id,
            "payload": payload,
        }
        for name, value in (
            ("source", source),
            ("event_type", event_type),
            ("attachments", attachments),
            ("destinations", destinations),
        ):
            if value is not None:
                envelope[name] = value
        if submitted_at is not None:
            envelope["submitted_at"] = (
                submitted_at.isoformat() if isinstance(submitted_at, datetime) else submitted_at
            )
        return envelope

    def send_event(
        self,
        event: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> dict:
        """Send an event with the API key (POST /v1/events); its `event_type` routes it. The
        idempotency key (generated unless given) makes the retries safe."""
        key = idempotency_key or uuid7()
        body = json.dumps(event, separators=(",", ":"), default=str).encode()
        return self._send_with_retries(
            lambda: self._request(
                "POST", "/v1/events", body,
                lambda: {**self._bearer(), "Idempotency-Key": key}, timeout,
            )
        )  # fmt: skip

    def verify(self) -> dict[str, Any]:
        """Check the tenant id and secret without storing anything (POST /v1/verify):
        `{"tenant_id", "status": "ok", "server_time"}`, or AuthenticationError."""
        if not (self.tenant_id and self.secret):
            raise ValueError("verify() needs tenant_id and secret")
        return self._send_with_retries(
            lambda: self._request(
                "POST", "/v1/verify", b"{}",
                lambda: signing.signed_headers(self.tenant_id, self.secret, b"{}"),
            )
        )  # fmt: skip

    # --- the pull inbox ---

    def inbox(
        self,
        *,
        lease: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        inbox: str | None = None,
    ) -> InboxPage:
        """Undelivered events, oldest first. With `lease` (seconds) each one is yours alone until
        then: process it and `ack()` it, or it comes back."""
        query = {
            k: v
            for k, v in (("lease", lease), ("limit", limit), ("cursor", cursor), ("inbox", inbox))
            if v is not None
        }
        path = "/v1/inbox" + (f"?{urlencode(query)}" if query else "")
        page = self._send_with_retries(lambda: self._request("GET", path, None, self._bearer))
        return InboxPage(
            events=[InboxEvent(**{f: e[f] for f in InboxEvent.__dataclass_fields__})
                    for e in page["events"]],
            next_cursor=page.get("next_cursor"),
        )  # fmt: skip

    def ack(self, ids: Iterable[str] | str, *, inbox: str | None = None) -> int:
        """Acknowledge events (idempotent; all or nothing). Returns how many were acknowledged."""
        ids = [ids] if isinstance(ids, str) else list(ids)
        body: dict[str, Any] = {"event_ids": ids}
        if inbox:
            body["inbox"] = inbox
        raw = json.dumps(body).encode()
        answer = self._send_with_retries(
            lambda: self._request("POST", "/v1/ack", raw, self._bearer)
        )
        return int(answer["acknowledged"])

    # --- transport ---

    def _bearer(self) -> dict[str, str]:
        if not self.api_key:
            raise ValueError("this call needs an api_key")
        return {"Authorization": f"Bearer {self.api_key}"}

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: Callable[[], dict[str, str]],
        timeout: float | None = None,
    ) -> Any:
        return self._transport.request(
            method,
            path,
            body,
            {
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if body is not None else {}),
                **headers(),  # built per try: a retry is signed with a fresh timestamp
            },
            read_timeout=timeout,
        )

    def _api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A key-authenticated API call, retried when it may be (reads, and writes the server
        makes idempotent)."""
        query = {k: v for k, v in (query or {}).items() if v is not None}
        url = path + (f"?{urlencode(query, doseq=True)}" if query else "")
        raw = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        return self._send_with_retries(
            lambda: self._request(method, url, raw, self._bearer, timeout)
        )

    def _send_with_retries(self, send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            try:
                return send()
            except errors.FormBridgeError as exc:
                if not exc.retryable or attempt == self.max_retries:
                    raise
                delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * random.uniform(0.5, 1.5)  # noqa: S311
                self._sleep(max(delay, exc.retry_after or 0.0))
        raise AssertionError("unreachable")  # pragma: no cover
