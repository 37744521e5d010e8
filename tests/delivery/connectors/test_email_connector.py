"""E-mail destinations against a real SMTP server (aiosmtpd) on loopback: the message as sent,
AUTH with the password from auth_secret, 4xx retried, 5xx dead, the password never logged."""

from __future__ import annotations

import email
import email.policy
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.errors import Invalid
from delivery import services
from delivery.models import DeliveryStatus
from tests.faults.stack import free_port

from .conftest import assert_secret_kept, attempts_of

pytestmark = pytest.mark.django_db
PASSWORD = "smtp-pa55word-0f-the-relay"


class Mailbox:
    """Keeps what it accepts; `refuse_next` answers the next RCPT with a scripted reply."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.refusals: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusals:
            return self.refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=free_port(),
        authenticator=authenticator, auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    mailbox.url = f"smtp://relay-user@127.0.0.1:{controller.port}"
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


CONFIG = {
    "to": ["sales@example.com", "ops@example.com"],
    "subject": "New lead: {{ payload.first_name }} {{ payload.last_name }}",
    "text_template": "{% for name, value in fields %}{{ name }}: {{ value }}\n{% endfor %}",
    "html_template": "<p>Lead <b>{{ payload.first_name }}</b> says {{ payload.note }}</p>",
    "reply_to_field": "email",
}


def test_email_sends_text_and_html_with_reply_to(smtp, destination, deliver, logs):
    destination("email", {**CONFIG, "smtp_url": smtp.url}, auth_secret=PASSWORD)

    [delivery] = deliver(payload={"email": "jane@example.com", "first_name": "Jane",
                                  "last_name": "Doe\r\nBcc: victim@example.com",
                                  "note": "<script>alert(1)</script>"})  # fmt: skip

    assert delivery.status == DeliveryStatus.SUCCEEDED
    [message] = smtp.messages
    assert sorted(smtp.envelopes[0].rcpt_tos) == ["ops@example.com", "sales@example.com"]
    # A payload value cannot add a header: newlines in the subject are folded away.
    assert message["Subject"] == "New lead: Jane Doe Bcc: victim@example.com"
    assert message["Bcc"] is None
    assert message["Reply-To"] == "jane@example.com"
    assert message["Message-ID"] == f"<{delivery.id}@localhost>"
    assert message["X-FormBridge-Submission-Id"] == delivery.submission.submission_id
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "email: jane@example.com" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    [attempt] = attempts_of(delivery)
    assert attempt.response_status == 250
    assert attempt.request_headers["To"] == "sales@example.com, ops@example.com"
    assert_secret_kept(PASSWORD, logs)


def test_email_through_the_operators_relay(smtp, destination, deliver, settings):
    settings.EMAIL_URL = f"smtp://relay-user:{PASSWORD}@127.0.0.1:{smtp.port}"
    destination("email", {"to": "sales@example.com", "subject": "Lead", "text_template": "Hi"})

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert smtp.messages[0]["From"] == "FormBridge <formbridge@localhost>"


def test_email_4xx_is_retried_and_5xx_is_dead(smtp, destination, deliver):
    destination("email", {**CONFIG, "to": ["sales@example.com"], "smtp_url": smtp.url},
                auth_secret=PASSWORD)  # fmt: skip
    smtp.refusals = ["451 4.3.0 Mailbox temporarily unavailable"]

    [delivery] = deliver()

    assert [a.outcome for a in attempts_of(delivery)] == ["retryable", "success"]
    assert attempts_of(delivery)[0].response_status == 451
    smtp.refusals = ["550 5.1.1 No such user"]
    [_, refused] = deliver()
    assert refused.status == DeliveryStatus.DEAD
    assert "550" in refused.last_error


def test_email_wrong_password_is_permanent(smtp, destination, deliver):
    destination("email", {**CONFIG, "smtp_url": smtp.url}, auth_secret="wrong-password-1")

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.DEAD
    assert "535" in delivery.last_error


def test_email_relay_down_is_transient(destination, deliver):
    destination("email", {**CONFIG, "smtp_url": f"smtp://127.0.0.1:{free_port()}"},
                retry_schedule=[60])  # fmt: skip

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.RETRYING
    assert "ConnectionRefusedError" in attempts_of(delivery)[0].error


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"to": ["not-an-address"]}, "config.to"),
        ({"subject": "{{ unclosed"}, "config.subject"),
        ({"html_template": "{% for a in fields %}{% for b in fields %}{% for c in fields %}"
                           "{% endfor %}{% endfor %}{% endfor %}"}, "config.html_template"),
        ({"smtp_url": "smtp://user:pw@127.0.0.1:25"}, "config.smtp_url"),
        ({"smtp_url": "smtp://10.1.2.3:25"}, "config.smtp_url"),
    ],
)  # fmt: skip
def test_email_config_is_checked_on_save(acme, config, field):
    with pytest.raises(Invalid) as refused:
        services.destination_create(
            tenant=acme.tenant, name="mail", kind="email", config={**CONFIG, **config}
        )
    assert refused.value.field == field


# --- the operator's relay is shared: it sends as the operator (issue 27) ---

SPOOFED = "Security Team <security@bank.example>"


def test_the_operators_relay_sends_as_the_operator_and_the_tenants_from_becomes_reply_to(
    smtp, destination, deliver, settings
):
    settings.EMAIL_URL = f"smtp://relay-user:{PASSWORD}@127.0.0.1:{smtp.port}"
    destination("email", {"to": "sales@example.com", "subject": "Lead", "text_template": "Hi",
                          "from": SPOOFED})  # fmt: skip

    [delivery] = deliver()

    assert delivery.status == DeliveryStatus.SUCCEEDED
    [message] = smtp.messages
    assert message["From"] == "FormBridge <formbridge@localhost>"
    assert message["Reply-To"] == "security@bank.example"
    assert "bank.example" not in smtp.envelopes[0].mail_from


def test_a_sender_an_operator_verified_for_the_tenant_is_its_from(
    smtp, destination, deliver, settings, acme
):
    from tenants import services as tenant_services

    settings.EMAIL_URL = f"smtp://relay-user:{PASSWORD}@127.0.0.1:{smtp.port}"
    tenant_services.tenant_grant(tenant=acme.tenant, kind="sender", pattern="leads@acme.example")
    destination("email", {"to": "sales@example.com", "subject": "Lead", "text_template": "Hi",
                          "from": "Acme Leads <leads@acme.example>"})  # fmt: skip

    deliver()

    assert smtp.messages[0]["From"] == "Acme Leads <leads@acme.example>"
    assert smtp.messages[0]["Reply-To"] is None


def test_a_tenants_own_relay_chooses_its_from(smtp, destination, deliver):
    destination("email", {**CONFIG, "smtp_url": smtp.url, "from": SPOOFED}, auth_secret=PASSWORD)
    deliver(payload={"email": "jane@example.com"})
    assert smtp.messages[0]["From"] == SPOOFED


def test_the_operators_relay_caps_recipients_per_message_on_save(acme, settings):
    with pytest.raises(Invalid) as refused:
        services.destination_create(
            tenant=acme.tenant, name="mail", kind="email",
            config={**CONFIG, "to": [f"u{n}@example.com" for n in range(11)]},
        )  # fmt: skip
    assert refused.value.field == "config.to"
    assert "operator's relay" in refused.value.message
    # With its own relay a tenant may write to more (its relay's reputation, not ours).
    services.destination_create(
        tenant=acme.tenant, name="mail", kind="email",
        config={**CONFIG, "to": [f"u{n}@example.com" for n in range(11)],
                "smtp_url": "smtp://relay@93.184.216.34:25"},
    )  # fmt: skip


def test_a_tenants_hour_on_the_operators_relay_is_capped_then_retried(
    smtp, destination, deliver, settings
):
    settings.EMAIL_URL = f"smtp://relay-user:{PASSWORD}@127.0.0.1:{smtp.port}"
    settings.RELAY_RECIPIENTS_PER_HOUR = 3
    destination("email", {**CONFIG, "reply_to_field": None})  # 2 recipients a message

    next_hour = (int(time.time()) // 3600 + 1) * 3600

    first, second = deliver(2)

    assert first.status == DeliveryStatus.SUCCEEDED
    assert second.status == DeliveryStatus.RETRYING  # 4 > 3: tried again in the next hour
    assert "recipients this hour" in attempts_of(second)[0].error
    assert second.next_attempt_at.timestamp() >= next_hour
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"from": "Evil\r\nBcc: all@example.org <a@example.org>"}, "config.from"),
        ({"to": ["sales@example.com\r\nBcc: all@example.org"]}, "config.to"),
    ],
)
def test_a_header_that_could_never_be_sent_is_refused_on_save(acme, config, field):
    """The review's case: saved (201), then every delivery retried on ValueError."""
    with pytest.raises(Invalid) as refused:
        services.destination_create(
            tenant=acme.tenant, name="mail", kind="email", config={**CONFIG, **config}
        )
    assert refused.value.field == field
