"""E-mail over SMTP: a subject, a plain-text and an optional HTML part from templates, to the
destination's recipients, with Reply-To taken from a payload field when it holds an address.

The relay is the operator's EMAIL_URL (smtp://, smtp+tls:// for STARTTLS, smtp+ssl://), or the
destination's own config.smtp_url with its password in auth_secret; a tenant's relay is checked
by the SSRF guard and the connection pinned to the checked address. On the operator's relay the
message is the operator's (mail_relay: its From, capped recipients). Retries carry the same
Message-ID, so a mail client shows a re-sent message once. A sample message is built when the
destination is saved, so what is saved can be sent.
"""

from __future__ import annotations

import asyncio
import functools
import smtplib
import socket
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

import environ
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.errors import Invalid
from delivery import aio, message_templates, ssrf
from delivery.events import sample_event
from delivery.message_templates import Channel
from delivery.models import AttemptOutcome

from . import mail_relay
from .base import Clock, Connector, Job, Outcome, invalid_as

MAX_RECIPIENTS = 50
SCHEMES = {"smtp": (False, False), "smtp+tls": (True, False), "smtp+ssl": (False, True)}
SUBJECT_LIMIT = 250


def _is_address(value: Any) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return isinstance(value, str)


class _Pinned:
    """Connect to the address the SSRF guard checked, while TLS verifies the host's name."""

    pinned_address: str

    def _get_socket(self, host, port, timeout):
        return super()._get_socket(self.pinned_address, port, timeout)


class PinnedSMTP(_Pinned, smtplib.SMTP):
    pass


class PinnedSMTP_SSL(_Pinned, smtplib.SMTP_SSL):
    pass


def relay(config: dict[str, Any], secret: str) -> dict[str, Any]:
    """Where and how to send: host, port, user, password, tls, ssl, and whether to pin."""
    if config.get("smtp_url"):
        parts = urlsplit(config["smtp_url"])
        tls, implicit = SCHEMES[parts.scheme]
        return {
            "host": parts.hostname,
            "port": parts.port or (465 if implicit else 587 if tls else 25),
            "user": unquote(parts.username or ""),
            "password": secret,
            "tls": tls,
            "ssl": implicit,
            "checked": True,  # a tenant's relay: the SSRF guard applies
        }
    if not settings.EMAIL_URL:
        raise smtplib.SMTPException("no relay: set EMAIL_URL, or config.smtp_url")
    url = environ.Env.email_url_config(settings.EMAIL_URL)
    return {
        "host": url["EMAIL_HOST"],
        "port": url["EMAIL_PORT"] or 25,
        "user": url.get("EMAIL_HOST_USER") or "",
        "password": url.get("EMAIL_HOST_PASSWORD") or "",
        "tls": bool(url.get("EMAIL_USE_TLS")),
        "ssl": bool(url.get("EMAIL_USE_SSL")),
        "checked": False,  # the operator's own relay
    }


# The templates of a message: (config key, channel, part name).
PARTS = (
    ("subject", Channel.TEXT),
    ("text_template", Channel.TEXT),
    ("html_template", Channel.HTML),
)


def render_parts(config: dict[str, Any], event: dict[str, Any]) -> dict[str, str]:
    """Each template of the message rendered (in a sandbox process: blocking)."""
    return {
        key: message_templates.render(config[key], event, channel)
        for key, channel in PARTS
        if config.get(key)
    }


async def render_parts_async(config: dict[str, Any], event: dict[str, Any]) -> dict[str, str]:
    """render_parts from the sender's event loop (the three go in one sandbox batch)."""
    keys = [(key, channel) for key, channel in PARTS if config.get(key)]
    texts = await asyncio.gather(
        *(message_templates.render_async(config[key], event, channel) for key, channel in keys)
    )
    return {key: text for (key, _), text in zip(keys, texts, strict=True)}


def build_message(
    config: dict[str, Any],
    event: dict[str, Any],
    parts: dict[str, str],
    *,
    message_id: str,
    submission_id: str,
    verified_senders: Sequence[str] = (),
) -> EmailMessage:
    """The message for one event, from its rendered parts."""
    message = EmailMessage()
    message["Subject"] = " ".join(parts["subject"].split())[:SUBJECT_LIMIT] or "(no subject)"
    sender, tenant_reply_to = mail_relay.senders(config, verified_senders)
    message["From"] = sender
    message["To"] = ", ".join(config["to"])
    payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
    reply_to = payload.get(config.get("reply_to_field") or "")
    if reply_to and _is_address(reply_to):
        message["Reply-To"] = reply_to
    elif tenant_reply_to:
        message["Reply-To"] = tenant_reply_to
    domain = parseaddr(message["From"])[1].rpartition("@")[2] or "formbridge.invalid"
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message["X-FormBridge-Submission-Id"] = submission_id
    message.set_content(parts["text_template"])
    if "html_template" in parts:
        message.add_alternative(parts["html_template"], subtype="html")
    return message


async def job_message(job: Job) -> EmailMessage:
    config = job.destination.config
    return build_message(
        config,
        job.event,
        await render_parts_async(config, job.event),
        message_id=str(job.delivery_id),
        submission_id=job.submission_id,
        verified_senders=job.destination.mail_senders,
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the system's CA bundle costs milliseconds of CPU: once per process, not per send.
    return ssl.create_default_context()


def _send(job: Job, message: EmailMessage) -> dict[str, Any]:
    """Blocking: one SMTP session. Returns the recipients the server refused (if some were)."""
    destination = job.destination
    server = relay(destination.config, destination.auth_secret)
    timeout = destination.timeout_seconds
    address = server["host"]
    if server["checked"]:
        address = str(ssrf.check_host(server["host"], server["port"]))
    context = _tls_context()
    cls = PinnedSMTP_SSL if server["ssl"] else PinnedSMTP
    kwargs = {"context": context} if server["ssl"] else {}
    client = cls(timeout=timeout, **kwargs)
    client.pinned_address = address
    try:
        client.connect(server["host"], server["port"])
        if server["tls"]:
            client.starttls(context=context)
        if server["user"]:
            client.login(server["user"], server["password"])
        return client.send_message(message)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _classify(exc: Exception) -> tuple[AttemptOutcome, int | None, str]:
    """SMTP's own rule: a 4xx reply is temporary, a 5xx permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        temporary = any(400 <= code < 500 for code in codes)
        detail = "; ".join(f"{rcpt}: {code}" for rcpt, (code, _) in exc.recipients.items())
        outcome = AttemptOutcome.RETRYABLE if temporary else AttemptOutcome.PERMANENT
        return outcome, max(codes, default=None), f"every recipient refused: {detail}"
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        outcome = AttemptOutcome.RETRYABLE if code < 500 else AttemptOutcome.PERMANENT
        return outcome, code, f"SMTP {code}: {text}"[:500]
    if isinstance(exc, ssrf.UnsafeDestination):
        outcome = AttemptOutcome.RETRYABLE if exc.transient else AttemptOutcome.PERMANENT
        return outcome, None, f"refused: {exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return AttemptOutcome.PERMANENT, None, f"TLS: {exc}"[:500]
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError | socket.timeout):
        return AttemptOutcome.RETRYABLE, None, f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, smtplib.SMTPException):
        return AttemptOutcome.RETRYABLE, None, f"{type(exc).__name__}: {exc}"[:500]
    raise exc


def _relay_refusal(config: dict[str, Any], job: Job) -> mail_relay.RelayRefused | None:
    """Why the operator's relay will not take this message now, if it will not."""
    if not mail_relay.uses_operator_relay(config):
        return None
    if len(config["to"]) > mail_relay.max_recipients():
        return mail_relay.RelayRefused(
            f"{len(config['to'])} recipients; the operator's relay takes "
            f"{mail_relay.max_recipients()} a message"
        )
    try:
        mail_relay.take_hourly_allowance(job.destination.tenant_id, len(config["to"]))
    except mail_relay.RelayRefused as exc:
        return exc
    return None


class EmailConnector(Connector):
    kind = "email"
    config_help = (
        '{"to", "subject", "text_template", "html_template", "reply_to_field", "from", "smtp_url"}'
    )
    label = "E-mail (SMTP)"
    credential_targets = ("smtp_url",)

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        to = config.get("to")
        to = [to] if isinstance(to, str) else to
        if not isinstance(to, list) or not 1 <= len(to) <= MAX_RECIPIENTS:
            raise Invalid(f"1-{MAX_RECIPIENTS} e-mail addresses", field="to")
        for address in to:
            if not _is_address(address):
                raise Invalid(f"{address!r} is not an e-mail address", field="to")
        if mail_relay.uses_operator_relay(config) and len(to) > mail_relay.max_recipients():
            raise Invalid(
                f"at most {mail_relay.max_recipients()} recipients through the operator's relay "
                "(or give config.smtp_url, your own relay)",
                field="to",
            )
        for address in to:
            if mail_relay.header_problem(address):
                raise Invalid(f"{address!r} {mail_relay.header_problem(address)}", field="to")
        sender = config.get("from")
        if sender is not None:
            problem = mail_relay.header_problem(sender)
            if problem:
                raise Invalid(problem, field="from")
            if not _is_address(parseaddr(sender)[1]):
                raise Invalid("an address, or Name <address>", field="from")
        for key, channel, required in (
            ("subject", Channel.TEXT, True),
            ("text_template", Channel.TEXT, True),
            ("html_template", Channel.HTML, False),
        ):
            if config.get(key) is None and not required:
                continue
            try:
                message_templates.validate(config.get(key), channel)
            except message_templates.TemplateInvalid as exc:
                raise Invalid(str(exc), field=key) from None
        field = config.get("reply_to_field")
        if field is not None and (not isinstance(field, str) or not field):
            raise Invalid("the payload field holding the sender's address", field="reply_to_field")
        if config.get("smtp_url") is not None:
            self._validate_smtp_url(config["smtp_url"])
        config = {**config, "to": to}
        try:  # what is saved can send: a message built from the sample event
            sample = sample_event(tenant_id="t_sample")
            build_message(config, sample, render_parts(config, sample), message_id="sample",
                          submission_id="sample")  # fmt: skip
        except (ValueError, TypeError) as exc:
            raise Invalid(f"a message cannot be built: {exc}", field="") from None
        return config

    def _validate_smtp_url(self, url: Any) -> None:
        try:
            parts = urlsplit(url) if isinstance(url, str) else None
            port = parts.port if parts else None
        except ValueError:
            parts, port = None, None
        if parts is None or parts.scheme not in SCHEMES or not parts.hostname:
            raise Invalid("smtp://, smtp+tls:// or smtp+ssl://[user@]host[:port]", field="smtp_url")
        if parts.password:
            raise Invalid("the password goes in auth_secret, not in the URL", field="smtp_url")
        with invalid_as("smtp_url"):
            ssrf.check_host(parts.hostname, port or 25)

    def validate_secret(self, config: dict[str, Any], secret: str) -> None:
        if secret and not config.get("smtp_url"):
            raise Invalid("a password goes with config.smtp_url (the relay it is for)")

    async def send(self, job: Job) -> Outcome:
        clock = Clock()
        config = job.destination.config
        url = config.get("smtp_url") or "EMAIL_URL"
        sent = {"request_method": "SMTP", "request_url": f"{url} to {', '.join(config['to'])}"}
        try:
            message = await job_message(job)  # its templates render in a sandbox process
        except message_templates.TemplateInvalid as exc:
            return clock.outcome(AttemptOutcome.PERMANENT, error=f"template: {exc}", **sent)
        except message_templates.TemplateBusy as exc:
            return clock.outcome(AttemptOutcome.RETRYABLE, error=f"template: {exc}", **sent)
        except (ValueError, TypeError) as exc:  # saved before headers were checked on save
            return clock.outcome(AttemptOutcome.PERMANENT, error=f"message: {exc}", **sent)
        refused = _relay_refusal(config, job)
        if refused is not None:
            return clock.outcome(
                AttemptOutcome.RETRYABLE if refused.retry_after else AttemptOutcome.PERMANENT,
                error=f"relay: {refused}",
                retry_after=refused.retry_after,
                **sent,
            )
        sent["request_headers"] = {
            name: str(message[name]) for name in ("Subject", "From", "To", "Reply-To", "Message-ID")
            if message[name]
        }  # fmt: skip
        try:
            refused = await aio.blocking(_send, job, message)
        except Exception as exc:
            outcome, code, error = _classify(exc)
            return clock.outcome(outcome, status_code=code, error=error, **sent)
        body = f"accepted for {len(config['to']) - len(refused)} of {len(config['to'])} recipients"
        return clock.outcome(
            AttemptOutcome.SUCCESS,
            status_code=250,
            error="; ".join(f"refused {rcpt}: {code}" for rcpt, (code, _) in refused.items()),
            response_body=body,
            **sent,
        )
