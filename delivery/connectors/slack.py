"""Slack: a Block Kit message built from a template over the event, posted to an incoming
webhook (config.webhook_url) or with chat.postMessage (config.channel, a bot token in
auth_secret).

Slack answers errors two ways: incoming webhooks by status and a text body (404
channel_not_found), the Web API by 200 with {"ok": false, "error": "..."}. Both are classified
by the error's name; 429 waits for Retry-After.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from core.errors import Invalid
from delivery import message_templates, ssrf
from delivery.message_templates import Channel
from delivery.models import AttemptOutcome
from delivery.retry import classify_status

from . import http
from .base import Clock, Connector, Job, Outcome, invalid_as

DEFAULT_TEMPLATE = (
    "*New {{ event_type or 'submission' }}* on `{{ form_id or source }}`\n"
    "{% for name, value in fields %}*{{ name }}*: {{ value }}\n{% endfor %}"
)
# Slack caps a section's text at 3,000 characters and a message's fallback text at 40,000.
SECTION_LIMIT = 3000
TEXT_LIMIT = 4000
CHANNEL = re.compile(r"[#@]?[\w\-.]{1,80}")
# Errors a later try can get past; every other named error is the request's own fault.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


def message(job: Job, rendered: str) -> dict[str, Any]:
    """The Block Kit message: the rendered template in sections, and a context line."""
    config = job.destination.config
    text = rendered.strip() or "(empty message)"
    sections = [
        text[i : i + SECTION_LIMIT] for i in range(0, min(len(text), 12_000), SECTION_LIMIT)
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in sections
    ]
    context = f"{job.event.get('source', '')} · {job.submission_id}"
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": message_templates.mrkdwn_escape(context)}],
        }
    )
    body = {"text": text[:TEXT_LIMIT], "blocks": blocks, "unfurl_links": False}
    if config.get("channel"):
        body["channel"] = config["channel"]
    return body


def _classify_error(name: str) -> AttemptOutcome:
    return AttemptOutcome.RETRYABLE if name in TRANSIENT_ERRORS else AttemptOutcome.PERMANENT


class SlackConnector(Connector):
    kind = "slack"
    config_help = '{"webhook_url"} or {"channel"}, "template"'
    label = "Slack message"
    credential_targets = ("webhook_url",)
    secret_config_keys = ("webhook_url",)

    def validate(self, config: dict[str, Any]) -> dict[str, Any]:
        webhook, channel = config.get("webhook_url"), config.get("channel")
        if bool(webhook) == bool(channel):
            raise Invalid("give either webhook_url or channel (with a bot token)", field="")
        if webhook is not None:
            if not isinstance(webhook, str):
                raise Invalid("an incoming-webhook URL", field="webhook_url")
            with invalid_as("webhook_url"):
                ssrf.check_url(webhook)
        if channel is not None and (not isinstance(channel, str) or not CHANNEL.fullmatch(channel)):
            raise Invalid("a channel id (C0123...) or name", field="channel")
        template = config.get("template", DEFAULT_TEMPLATE)
        try:
            message_templates.validate(template, Channel.MRKDWN)
        except message_templates.TemplateInvalid as exc:
            raise Invalid(str(exc), field="template") from None
        return {**config, "template": template}

    def validate_secret(self, config: dict[str, Any], secret: str) -> None:
        if config.get("channel") and not secret.startswith(("xoxb-", "xoxp-")):
            raise Invalid("chat.postMessage needs a bot token (xoxb-...) in auth_secret")
        if config.get("webhook_url") and secret:
            raise Invalid("an incoming webhook takes no token: its URL is the credential")

    async def send(self, job: Job) -> Outcome:
        clock = Clock()
        destination = job.destination
        if destination.config.get("webhook_url"):
            url, headers = destination.config["webhook_url"], {}
        else:
            url = f"{settings.SLACK_API_BASE.rstrip('/')}/api/chat.postMessage"
            headers = {"Authorization": f"Bearer {destination.auth_secret}"}
        try:
            rendered = await message_templates.render_async(
                destination.config["template"], job.event, Channel.MRKDWN
            )
        except message_templates.TemplateInvalid as exc:
            return clock.outcome(
                AttemptOutcome.PERMANENT, error=f"template: {exc}", request_url=url
            )
        except message_templates.TemplateBusy as exc:
            return clock.outcome(
                AttemptOutcome.RETRYABLE, error=f"template: {exc}", request_url=url
            )
        body = message(job, rendered)
        sent = {"request_method": "POST", "request_url": url}
        try:
            reply = await http.request(
                "POST",
                url,
                headers=headers,
                json_body=body,
                timeout=destination.timeout_seconds,
                connect_timeout=destination.connect_timeout_seconds,
            )
        except http.Unreachable as exc:
            return clock.outcome(exc.outcome, error=str(exc), **sent)
        answer = reply.json()
        fields = {**sent, **http.reply_fields(reply)}
        text = fields["response_body"]
        if reply.status == 429:
            return clock.outcome(AttemptOutcome.RETRYABLE, error="rate limited (429)", **fields)
        if reply.status != 200:
            # Incoming webhooks name the error in a text body: channel_not_found, no_service...
            name = text.strip() if not isinstance(answer, dict) else str(answer.get("error", ""))
            outcome = classify_status(reply.status)
            if name and outcome is not AttemptOutcome.RETRYABLE:
                outcome = _classify_error(name)
            return clock.outcome(outcome, error=f"HTTP {reply.status}: {name}"[:500], **fields)
        if isinstance(answer, dict) and answer.get("ok") is False:
            name = str(answer.get("error", "unknown_error"))
            return clock.outcome(_classify_error(name), error=f"slack: {name}", **fields)
        return clock.outcome(AttemptOutcome.SUCCESS, **fields)
