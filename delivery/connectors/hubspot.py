"""HubSpot: a contact created or updated by e-mail (CRM v3 batch upsert), or a Forms API
submission, with a private-app token in auth_secret.

The mapping (JMESPath, as for REST) makes the contact's properties or the form's fields. HubSpot's
rate limits are honoured: 429 waits for Retry-After, else for the
X-HubSpot-RateLimit-Interval-Milliseconds window, or until tomorrow when the daily allowance
is spent. A 409 from the upsert (the e-mail exists under a conflicting record) is resolved as
an update of that contact.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings

from core.errors import Invalid
from delivery import mapping
from delivery.models import AttemptOutcome
from delivery.retry import classify_status

from . import http
from .base import Clock, Connector, Job, Outcome, invalid_as, mapped

MODES = ("contacts", "forms")
DEFAULT_MAPPING = {"email": "payload.email"}
FORM_GUID = re.compile(r"[0-9a-fA-F-]{36}")
PORTAL_ID = re.compile(r"\d{1,12}")
CONTACT_OBJECT = "0-1"
# 423: HubSpot locks a record that is being merged or written; a moment later it is free.
_RETRYABLE_STATUSES = frozenset({423})


def _rate_limit_wait(reply: http.Reply) -> float | None:
    """How long to wait after a 429 when HubSpot gives no Retry-After."""
    headers = reply.headers
    if headers.get("x-hubspot-ratelimit-daily-remaining") == "0":
        now = datetime.now(UTC)
        tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return (tomorrow - now).total_seconds()
    interval = headers.get("x-hubspot-ratelimit-interval-milliseconds", "")
    return int(interval) / 1000 if interval.isdigit() else None


def _error_text(reply: http.Reply) -> str:
    answer = reply.json()
    if isinstance(answer, dict):
        errors = answer.get("errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        kind = answer.get("category") or first.get("errorType") or first.get("category") or ""
        message = answer.get("message") or first.get("message") or ""
        return f"{kind}: {message}".strip(": ")[:500]
    return ""


class HubSpotConnector(Connector):
    kind = "hubspot"
    config_help = '{"mode": "contacts" or "forms", "mapping", "portal_id", "form_guid"}'
    label = "HubSpot (contacts or forms)"

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        mode = config.get("mode", "contacts")
        if mode not in MODES:
            raise Invalid(f"one of {', '.join(MODES)}", field="mode")
        fields = config.get("mapping", DEFAULT_MAPPING)
        if not isinstance(fields, dict) or not fields:
            raise Invalid("an object of HubSpot property -> JMESPath expression", field="mapping")
        with invalid_as("mapping"):
            mapping.validate(fields)
        if mode == "contacts" and "email" not in fields:
            raise Invalid("contacts are upserted by e-mail: map an email property", field="mapping")
        if mode == "forms":
            if not PORTAL_ID.fullmatch(str(config.get("portal_id", ""))):
                raise Invalid("the HubSpot account (portal) id", field="portal_id")
            if not FORM_GUID.fullmatch(str(config.get("form_guid", ""))):
                raise Invalid("the form's GUID", field="form_guid")
        return {**config, "mode": mode, "mapping": fields}

    def validate_secret(self, config: dict[str, Any], secret: str) -> None:
        if not secret:
            raise Invalid("a private-app access token (pat-...) in auth_secret")

    async def send(self, job: Job) -> Outcome:
        clock = Clock()
        config = job.destination.config
        rendered = await mapped(clock, job, config["mapping"])
        if isinstance(rendered, Outcome):
            return rendered
        properties = {name: value for name, value in rendered.items() if value is not None}
        if config["mode"] == "forms":
            return await self._submit_form(clock, job, properties)
        return await self._upsert_contact(clock, job, properties)

    async def _call(
        self, clock: Clock, job: Job, method: str, url: str, body: Any
    ) -> tuple[http.Reply | None, Outcome | None]:
        destination = job.destination
        try:
            reply = await http.request(
                method,
                url,
                headers={"Authorization": f"Bearer {destination.auth_secret}"},
                json_body=body,
                timeout=destination.timeout_seconds,
                connect_timeout=destination.connect_timeout_seconds,
            )
        except http.Unreachable as exc:
            return None, clock.outcome(
                exc.outcome, error=str(exc), request_method=method, request_url=url
            )
        return reply, None

    def _outcome(self, clock: Clock, reply: http.Reply, method: str, url: str) -> Outcome:
        fields = {"request_method": method, "request_url": url, **http.reply_fields(reply)}
        if reply.status == 429:
            wait = fields["retry_after"] or _rate_limit_wait(reply)
            fields["retry_after"] = wait
            return clock.outcome(
                AttemptOutcome.RETRYABLE, error=f"rate limited: {_error_text(reply)}", **fields
            )
        if reply.status == 207:  # a batch with errors: ours holds one input, so it failed
            return clock.outcome(AttemptOutcome.PERMANENT, error=_error_text(reply), **fields)
        outcome = classify_status(reply.status)
        if reply.status in _RETRYABLE_STATUSES:
            outcome = AttemptOutcome.RETRYABLE
        error = "" if outcome is AttemptOutcome.SUCCESS else f"HTTP {reply.status}: "
        return clock.outcome(outcome, error=(error + _error_text(reply)).strip(": "), **fields)

    async def _upsert_contact(self, clock: Clock, job: Job, properties: dict) -> Outcome:
        email = properties.get("email")
        if not isinstance(email, str) or "@" not in email:
            return clock.outcome(
                AttemptOutcome.PERMANENT,
                error="the mapping gave no e-mail to upsert the contact by",
            )
        base = settings.HUBSPOT_API_BASE.rstrip("/")
        url = f"{base}/crm/v3/objects/contacts/batch/upsert"
        values = {k: v if isinstance(v, str) else str(v) for k, v in properties.items()}
        body = {"inputs": [{"idProperty": "email", "id": email, "properties": values}]}
        reply, failed = await self._call(clock, job, "POST", url, body)
        if failed:
            return failed
        if reply.status == 409:
            # The contact exists in a way the upsert will not touch: update it by its e-mail.
            url = f"{base}/crm/v3/objects/contacts/{quote(email, safe='@')}?idProperty=email"
            reply, failed = await self._call(clock, job, "PATCH", url, {"properties": values})
            if failed:
                return failed
            return self._outcome(clock, reply, "PATCH", url)
        return self._outcome(clock, reply, "POST", url)

    async def _submit_form(self, clock: Clock, job: Job, properties: dict) -> Outcome:
        config = job.destination.config
        base = settings.HUBSPOT_FORMS_API_BASE.rstrip("/")
        url = (
            f"{base}/submissions/v3/integration/secure/submit/"
            f"{config['portal_id']}/{config['form_guid']}"
        )
        received = datetime.fromisoformat(job.event["received_at"].replace("Z", "+00:00"))
        body: dict[str, Any] = {
            "submittedAt": str(int(received.timestamp() * 1000)),
            "fields": [
                {"objectTypeId": CONTACT_OBJECT, "name": name, "value": str(value)}
                for name, value in properties.items()
            ],
            "context": {},
        }
        if job.event.get("ip"):
            body["context"]["ipAddress"] = job.event["ip"]
        reply, failed = await self._call(clock, job, "POST", url, body)
        return failed or self._outcome(clock, reply, "POST", url)
