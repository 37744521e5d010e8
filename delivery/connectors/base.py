"""The connector interface. A connector sends one delivery and returns an Outcome; it never
raises on an HTTP result (Saleor's send_webhook_using_http returns a WebhookResponse)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from django.utils import timezone

from core.errors import Invalid
from delivery.models import AttemptOutcome, AuthMode

RESPONSE_BODY_LIMIT = 1024


@dataclass(frozen=True)
class DestinationSnapshot:
    """What a connector needs of a destination, secrets decrypted, read once per batch."""

    id: UUID
    tenant_id: str
    name: str
    kind: str
    config: dict[str, Any]
    auth_mode: str
    auth_config: dict[str, Any]
    auth_secret: str
    signing_secret: str
    timeout_seconds: float
    connect_timeout_seconds: float
    files_as: str = "link"
    retention_days: int | None = None  # the tenant's (the DynamoDB mirror's TTL)
    # auth_secret came from this Secrets Manager reference (core.secret_refs), if it did.
    secret_reference: str = ""
    # The tenant's grants of secrets outside its own path (for reading the reference again).
    secret_grants: tuple[str, ...] = ()
    # Why it cannot be sent to now (the send is then an attempt that failed): its secret
    # reference cannot be read, or it names an AWS target its tenant is no longer granted.
    unusable: str = ""
    unusable_transient: bool = True
    unusable_code: str = ""
    # Addresses an operator verified as this tenant's From on the operator's mail relay.
    mail_senders: tuple[str, ...] = ()
    # Signing secrets from before a rotation, still in their overlap: each signs too.
    previous_signing_secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    delivery_id: UUID
    attempt_number: int
    submission_id: str
    event: dict[str, Any]
    destination: DestinationSnapshot
    # Set on deliveries of an ordered (FIFO) destination: sent one at a time per key.
    ordering_key: str | None = None
    # The W3C traceparent stored when the delivery was created ("" when tracing is off).
    trace_context: str = ""


@dataclass
class Outcome:
    outcome: AttemptOutcome
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None
    # Set when the receiver says the destination is gone for good (410).
    disable_reason: str = ""
    request_method: str = ""
    request_url: str = ""
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""


class Clock:
    """Times one attempt; `outcome()` builds its Outcome with the duration so far."""

    def __init__(self) -> None:
        self.started_at = timezone.now()
        self._start = time.perf_counter()

    def outcome(self, outcome: AttemptOutcome, **fields: Any) -> Outcome:
        duration_ms = int((time.perf_counter() - self._start) * 1000)
        return Outcome(
            outcome=outcome, started_at=self.started_at, duration_ms=duration_ms, **fields
        )


class Connector:
    kind: ClassVar[str]
    label: ClassVar[str]  # what the admin shows
    # The config's keys, as the admin's help shows them (the README lists every key in full).
    config_help: ClassVar[str] = "{}"
    # Inbox-like connectors never send: their deliveries wait for a pull consumer.
    waits_for_pull: ClassVar[bool] = False
    # Only the REST connector speaks the generic auth modes (bearer, basic, OAuth2...); every
    # other kind takes its one credential (a token, a password, a client secret) in auth_secret.
    uses_auth_modes: ClassVar[bool] = False
    # Whether what it sends carries a Standard Webhooks signature (its signing secret rotates).
    signs: ClassVar[bool] = False
    # Config keys that say where the credential goes: changing one needs the secret again, so a
    # stored secret is never sent to a host it was not entered for.
    credential_targets: ClassVar[tuple[str, ...]] = ()
    # Config keys that are credentials themselves (a Slack webhook URL): cut out of attempt
    # rows and shown redacted.
    secret_config_keys: ClassVar[tuple[str, ...]] = ()

    async def send(self, job: Job) -> Outcome:
        """Runs on the sender's event loop (delivery.aio): never block it."""
        raise NotImplementedError

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise a destination's config; raise core.errors.Invalid naming the key
        at fault (field="url"), which the services report as config.url."""
        return config

    def validate_secret(self, config: dict[str, Any], secret: str) -> None:
        """Refuse a missing or malformed credential: Invalid(field="auth_secret")."""

    def validate_auth(
        self, config: dict[str, Any], mode: str, auth_config: dict[str, Any], secret: str,
        *, reference: bool,
    ) -> dict[str, Any]:  # fmt: skip
        """The auth settings this kind takes, cleaned (Invalid naming auth_mode, auth_config or
        auth_secret when refused). By default: no auth mode, its one credential in auth_secret,
        checked by validate_secret (a secret reference is checked when it is used)."""
        if mode != AuthMode.NONE or auth_config:
            raise Invalid(
                f"a {self.kind} destination takes its credential in auth_secret only",
                field="auth_mode",
            )
        if not reference:
            try:
                self.validate_secret(config, secret)
            except Invalid as exc:
                raise Invalid(exc.message, field="auth_secret") from None
        return {}

    def targets(self, config: dict[str, Any], tenant_id: str) -> tuple[Any, ...]:
        """The resources this config reaches with FormBridge's own authority (the worker's AWS
        role), each an aws_targets.Target that the tenant's grants must cover."""
        return ()


async def mapped(clock: Clock, job: Job, expression: Any, **fields: Any) -> Any:
    """The event through the destination's mapping (in a sandbox process), or the failed
    attempt's Outcome: permanent when this event cannot be mapped, retryable when a busy
    machine stopped the evaluation."""
    from delivery import mapping

    try:
        return await mapping.render_async(job.event, expression)
    except mapping.MappingBusy as exc:
        return clock.outcome(AttemptOutcome.RETRYABLE, error=f"mapping: {exc}", **fields)
    except mapping.MappingLimitExceeded as exc:
        # The same event and mapping would exceed it again: retrying only wastes the loop.
        return clock.outcome(AttemptOutcome.PERMANENT, error=f"mapping refused: {exc}", **fields)
    except mapping.RENDER_ERRORS as exc:
        return clock.outcome(AttemptOutcome.PERMANENT, error=f"mapping failed: {exc}", **fields)


@contextmanager
def invalid_as(field: str) -> Iterator[None]:
    """A ValueError from a checker (URL, headers, mapping) as Invalid on this config key."""
    try:
        yield
    except ValueError as exc:
        raise Invalid(str(exc), field=field) from None
