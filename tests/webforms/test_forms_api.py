"""Browser forms managed by API key, command and service: the contract's shapes, write-only
captcha secrets, refusals naming their field."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from ingest.models import PayloadSchema
from tests.conftest import assert_error
from webforms.models import Form

CONTACT = {
    "form_id": "contact",
    "allowed_origins": ["https://www.example.com"],
    "redirect_url": "https://www.example.com/thanks",
    "honeypot_field": "_gotcha",
    "schema": {"type": "object", "required": ["email"]},
}


@pytest.fixture
def admin(acme, api):
    return api(acme, scopes=["admin"])


def test_create_answers_the_contract(admin):
    response = admin.post("/v1/forms", CONTACT)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["form_id"] == "contact"
    assert body["form_key"].startswith("frm_") and len(body["form_key"]) == 28
    assert body["action_url"] == f"http://testserver/f/{body['form_key']}"
    assert body["allowed_origins"] == ["https://www.example.com"]
    assert body["redirect_url"] == "https://www.example.com/thanks"
    assert body["honeypot_field"] == "_gotcha"
    assert body["schema"] == CONTACT["schema"]
    assert body["created_at"].endswith("Z")
    stored = Form.objects.get()
    assert stored.form_key == body["form_key"]
    assert PayloadSchema.objects.get().subject == "contact"


def test_get_patch_and_delete(admin):
    admin.post("/v1/forms", CONTACT)

    patched = admin.patch(
        "/v1/forms/contact", {"allowed_origins": ["https://shop.example.com/"], "schema": None}
    )
    listed = admin.get("/v1/forms")
    deleted = admin.delete("/v1/forms/contact")

    assert patched.status_code == 200, patched.content
    assert patched.json()["allowed_origins"] == ["https://shop.example.com"]
    assert patched.json()["schema"] is None
    assert patched.json()["redirect_url"] == CONTACT["redirect_url"]  # untouched
    assert [f["form_id"] for f in listed.json()] == ["contact"]
    assert deleted.status_code == 204
    assert_error(admin.get("/v1/forms/contact"), 404, "not_found")
    assert Form.objects.get().deleted_at is not None
    assert not PayloadSchema.objects.exists()


def test_the_captcha_secret_is_write_only_and_encrypted(admin):
    response = admin.post(
        "/v1/forms",
        {"form_id": "c", "captcha_provider": "turnstile", "captcha_secret": "0x4AAA-secret"},
    )

    assert response.status_code == 201, response.content
    assert "captcha_secret" not in response.json()
    assert "0x4AAA-secret" not in json.dumps(response.json())
    assert "0x4AAA-secret" not in Form.objects.get().captcha_secret_encrypted


@pytest.mark.parametrize(
    "body, field",
    [
        ({"form_id": "c", "allowed_origins": ["https://example.com/path"]}, "allowed_origins"),
        ({"form_id": "c", "allowed_origins": ["ftp://example.com"]}, "allowed_origins"),
        ({"form_id": "c", "redirect_url": "javascript:alert(1)"}, "redirect_url"),
        ({"form_id": "c", "captcha_provider": "hcaptcha"}, "captcha_secret"),
        ({"form_id": "c", "max_files": 1000}, "max_files"),
        ({"form_id": "c", "allowed_file_types": ["exe"]}, "allowed_file_types"),
        ({"form_id": "c", "honeypot_field": "bad name"}, "honeypot_field"),
        ({"form_id": "bad id!"}, "form_id"),
    ],
)
def test_refusals_name_their_field_and_store_nothing(admin, body, field):
    body = assert_error(admin.post("/v1/forms", body), 400, "invalid_request")

    assert field in body["error"]["fields"], body
    assert not Form.objects.exists()


def test_a_bad_schema_is_refused_and_the_form_not_created(admin):
    body = assert_error(
        admin.post("/v1/forms", {"form_id": "c", "schema": {"type": 5}}), 400, "invalid_schema"
    )

    assert "schema" in body["error"]["fields"]
    assert not Form.objects.exists()


def test_a_form_id_is_unique_per_tenant(admin, globex, api):
    admin.post("/v1/forms", {"form_id": "contact"})

    again = admin.post("/v1/forms", {"form_id": "contact"})
    elsewhere = api(globex, scopes=["admin"]).post("/v1/forms", {"form_id": "contact"})

    assert_error(again, 400, "invalid_request")
    assert elsewhere.status_code == 201


def test_another_tenants_form_is_not_found(admin, globex, api):
    admin.post("/v1/forms", {"form_id": "contact"})
    other = api(globex, scopes=["admin"])

    assert_error(other.get("/v1/forms/contact"), 404, "not_found")
    assert_error(other.delete("/v1/forms/contact"), 404, "not_found")
    assert Form.objects.live().count() == 1


def test_the_command_prints_the_api_object(acme, capsys, settings):
    settings.PUBLIC_URL = "https://forms.example.net"

    call_command(
        "forms",
        "add",
        "t_acme",
        "contact",
        "--origin",
        "https://www.example.com",
        "--redirect",
        "https://www.example.com/thanks",
        "--json",
    )

    data = json.loads(capsys.readouterr().out)
    assert data["form_id"] == "contact"
    assert data["action_url"] == f"https://forms.example.net/f/{data['form_key']}"
    assert data["allowed_origins"] == ["https://www.example.com"]
    assert data["redirect_url"] == "https://www.example.com/thanks"
    call_command("forms", "list", "t_acme")
    assert data["action_url"] in capsys.readouterr().out
