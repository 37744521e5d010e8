"""Browser forms, schemas and spam in the admin: every write through the services, their refusals
next to the field, and spam released to its destinations."""

from __future__ import annotations

import json

import pytest

from delivery.models import Delivery
from ingest.models import PayloadSchema, Submission, SubmissionStatus
from webforms.models import Form

pytestmark = pytest.mark.django_db

FORM = {
    "tenant": "t_acme",
    "form_id": "contact",
    "allowed_origins": '["https://www.example.com"]',
    "redirect_url": "https://www.example.com/thanks",
    "honeypot_field": "_gotcha",
    "captcha_provider": "",
    "rate_limit_per_minute": "120",
    "ip_rate_limit_per_minute": "10",
    "max_files": "5",
    "max_file_bytes": "10485760",
    "allowed_file_types": "[]",
    "enabled": "on",
    "schema": '{"type": "object", "required": ["email"]}',
}


def test_a_form_is_added_with_its_schema_and_shows_its_snippet(client, root):
    added = client.post("/admin/webforms/form/add/", FORM)

    assert added.status_code == 302, added.content
    form = Form.objects.get(form_id="contact")
    assert form.allowed_origins == ["https://www.example.com"]
    assert PayloadSchema.objects.get(subject="contact").schema == {
        "type": "object",
        "required": ["email"],
    }
    page = client.get(f"/admin/webforms/form/{form.pk}/change/").content.decode()
    assert f"/f/{form.form_key}" in page
    assert "_gotcha" in page


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"allowed_origins": '["https://example.com/page"]'}, "allowed_origins", "not an origin"),
        ({"schema": '{"type": 7}'}, "schema", "Draft 2020-12"),
        ({"captcha_provider": "turnstile"}, "captcha_secret", "required"),
    ],
)
def test_the_services_refusals_are_shown_by_their_field(client, root, change, field, message):
    response = client.post("/admin/webforms/form/add/", {**FORM, **change})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert not Form.objects.exists()


def test_an_event_type_schema_is_set_in_the_admin(client, root):
    refused = client.post(
        "/admin/ingest/payloadschema/add/",
        {"tenant": "t_acme", "subject_kind": "event_type", "subject": "x", "schema": '{"type": 1}'},
    )
    added = client.post(
        "/admin/ingest/payloadschema/add/",
        {
            "tenant": "t_acme",
            "subject_kind": "event_type",
            "subject": "user.signup",
            "schema": json.dumps({"required": ["email"]}),
        },
    )

    assert "schema" in refused.context["adminform"].form.errors
    assert added.status_code == 302, added.content
    assert PayloadSchema.objects.get().subject == "user.signup"


def test_spam_is_released_from_the_admin_to_its_destinations(client, root):
    form = Form.objects.create(
        tenant_id="t_acme", form_id="contact", form_key="frm_test0123456789abcdefghij"
    )
    client.post(
        f"/f/{form.form_key}",
        {"email": "lead@example.com", "_gotcha": "looked like a bot"},
        headers={"Accept": "application/json"},
    )
    spam = Submission.objects.get(status=SubmissionStatus.SPAM)
    before = Delivery.objects.filter(submission=spam).count()

    response = client.post(
        "/admin/ingest/submission/",
        {"action": "release", "_selected_action": [str(spam.pk)]},
        follow=True,
    )

    spam.refresh_from_db()
    assert spam.status == SubmissionStatus.ACCEPTED
    assert before == 0
    # the world's tenant has two destinations; the released lead goes to both
    assert Delivery.objects.filter(submission=spam).count() == 2
    assert "Released 1 submission(s)" in response.content.decode()
