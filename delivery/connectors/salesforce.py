"""Salesforce: a Lead or Contact (any sObject) upserted by an external-id field through the REST
sObjects API, authenticated by OAuth 2.0 client credentials (the client secret in auth_secret).

The token (connectors/oauth2.py) is cached per destination and fetched again once when
Salesforce answers 401. Errors are Salesforce's arrays of {errorCode, message, fields}:
classified by errorCode (REQUIRED_FIELD_MISSING is the record's fault, REQUEST_LIMIT_EXCEEDED
passes).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from django.conf import settings

from core.errors import Invalid
from delivery import mapping, ssrf
from delivery.models import AttemptOutcome
from delivery.retry import classify_status

from . import http, oauth2
from .base import Clock, Connector, DestinationSnapshot, Job, Outcome, invalid_as, mapped

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
# Salesforce's token response has no expires_in; its sessions last two hours by default: a
# token is kept for one.
TOKEN_SECONDS = 3600.0
TRANSIENT_CODES = frozenset(
    {
        "REQUEST_LIMIT_EXCEEDED",
        "UNABLE_TO_LOCK_ROW",
        "SERVER_UNAVAILABLE",
        "API_CURRENTLY_DISABLED",
        "QUERY_TIMEOUT",
        "TXN_SECURITY_METERING_ERROR",
    }
)


def _errors(reply: http.Reply) -> list[dict[str, Any]]:
    answer = reply.json()
    if isinstance(answer, list):
        return [e for e in answer if isinstance(e, dict)]
    if isinstance(answer, dict) and isinstance(answer.get("errors"), list):
        return [e for e in answer["errors"] if isinstance(e, dict)]
    return []


def classify(reply: http.Reply) -> tuple[AttemptOutcome, str]:
    errors = _errors(reply)
    codes = [str(e.get("errorCode") or e.get("statusCode") or "") for e in errors]
    text = "; ".join(
        f"{code}: {e.get('message', '')}"
        + (f" ({', '.join(e['fields'])})" if e.get("fields") else "")
        for code, e in zip(codes, errors, strict=True)
    )[:500]
    if reply.status == 300:
        return AttemptOutcome.PERMANENT, "several records have this external id: " + text
    outcome = classify_status(reply.status)
    if outcome is not AttemptOutcome.SUCCESS and any(c in TRANSIENT_CODES for c in codes):
        outcome = AttemptOutcome.RETRYABLE
    return outcome, "" if outcome is AttemptOutcome.SUCCESS else f"HTTP {reply.status}: {text}"


class SalesforceConnector(Connector):
    kind = "salesforce"
    config_help = '{"login_url", "client_id", "sobject", "external_id_field", "mapping"}'
    label = "Salesforce (upsert by external id)"
    credential_targets = ("login_url",)

    def __init__(self) -> None:
        self.tokens = oauth2.TokenCache("salesforce")

    async def _token(self, destination: DestinationSnapshot, *, renew: bool) -> tuple[str, str]:
        """An access token and the org's instance URL (in the token response)."""
        config = destination.config
        token = await self.tokens.client_credentials(
            f"{config['login_url'].rstrip('/')}/services/oauth2/token",
            owner=str(destination.id), client_id=config["client_id"],
            client_secret=destination.auth_secret, timeout=destination.timeout_seconds,
            connect_timeout=destination.connect_timeout_seconds,
            default_expires_in=TOKEN_SECONDS, required=("instance_url",), renew=renew,
        )  # fmt: skip
        return token.access_token, str(token.answer["instance_url"])

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        login_url = config.get("login_url") or settings.SALESFORCE_LOGIN_URL
        if not isinstance(login_url, str):
            raise Invalid("https://login.salesforce.com or your My Domain URL", field="login_url")
        with invalid_as("login_url"):
            ssrf.check_url(login_url)
        if not isinstance(config.get("client_id"), str) or not config["client_id"]:
            raise Invalid("the connected app's consumer key", field="client_id")
        for key, example in (("sobject", "Lead"), ("external_id_field", "FormBridge_Id__c")):
            if not isinstance(config.get(key), str) or not NAME.fullmatch(config[key]):
                raise Invalid(f"an API name such as {example}", field=key)
        fields = config.get("mapping")
        if not isinstance(fields, dict) or config["external_id_field"] not in fields:
            raise Invalid(
                "an object of field -> JMESPath expression, including the external id field",
                field="mapping",
            )
        with invalid_as("mapping"):
            mapping.validate(fields)
        return {**config, "login_url": login_url}

    def validate_secret(self, config: dict[str, Any], secret: str) -> None:
        if not secret:
            raise Invalid("the connected app's consumer secret in auth_secret")

    async def send(self, job: Job) -> Outcome:
        clock = Clock()
        config = job.destination.config
        record = await mapped(clock, job, config["mapping"])
        if isinstance(record, Outcome):
            return record
        external_id = record.pop(config["external_id_field"], None)
        if external_id in (None, ""):
            return clock.outcome(
                AttemptOutcome.PERMANENT,
                error=f"the mapping gave no {config['external_id_field']} to upsert by",
            )
        record = {k: v for k, v in record.items() if v is not None}
        for fresh in (False, True):
            try:
                token, instance = await self._token(job.destination, renew=fresh)
            except oauth2.TokenRefused as exc:
                return clock.outcome(exc.outcome, error=f"auth: {exc}")
            key = quote(str(external_id), safe="")
            url = (
                f"{instance.rstrip('/')}/services/data/{settings.SALESFORCE_API_VERSION}/sobjects/"
                f"{config['sobject']}/{config['external_id_field']}/{key}"
            )
            try:
                reply = await http.request(
                    "PATCH",
                    url,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                    json_body=record,
                    timeout=job.destination.timeout_seconds,
                    connect_timeout=job.destination.connect_timeout_seconds,
                )
            except http.Unreachable as exc:
                return clock.outcome(
                    exc.outcome, error=str(exc), request_method="PATCH", request_url=url
                )
            if reply.status != 401 or fresh:
                break
            # INVALID_SESSION_ID: the session expired or was revoked; one new token, one retry.
        outcome, error = classify(reply)
        return clock.outcome(
            outcome,
            error=error,
            request_method="PATCH",
            request_url=url,
            **http.reply_fields(reply),
        )
