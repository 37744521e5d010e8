"""manage.py tenants / apikeys, as an operator or a script would run them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ingest.models import Submission
from tenants.models import ApiKey, SigningSecret, Tenant

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def test_create_prints_the_secret_once_and_it_signs(signed):
    created = run_json("tenants", "create", "t_shop", "--name", "Shop")

    assert created["id"] == "t_shop"
    assert created["name"] == "Shop"
    assert created["signing_secret"].startswith("fbs_")
    tenant = Tenant.objects.get(pk="t_shop")
    assert created["signing_secret"] not in SigningSecret.objects.get().secret_encrypted
    listed = run_json("tenants", "list")
    assert "signing_secret" not in json.dumps(listed)

    class Created:
        signing_secret = created["signing_secret"]

    Created.tenant = tenant
    assert signed.post(Created, {"x": 1}).status_code == 202


def test_create_with_a_chosen_secret():
    created = run_json("tenants", "create", "t_wp", "--secret", "my-wordpress-secret-123")

    assert created["signing_secret"] == "my-wordpress-secret-123"


def test_create_text_output_warns_it_is_shown_once():
    text = run("tenants", "create", "t_text")

    assert "shown once" in text
    assert "fbs_" in text


def test_rotate_secret_reports_the_overlap():
    run("tenants", "create", "t_rot")

    rotated = run_json("tenants", "rotate-secret", "t_rot", "--overlap-hours", "2")

    assert rotated["signing_secret"].startswith("fbs_")
    assert len(rotated["previous_secrets_expire_at"]) == 1
    assert SigningSecret.objects.filter(tenant_id="t_rot").count() == 2


def test_list_disable_enable():
    run("tenants", "create", "t_a")
    run("tenants", "create", "t_b")

    run("tenants", "disable", "t_b")

    listed = {t["id"]: t["is_active"] for t in run_json("tenants", "list")}
    assert listed == {"t_a": True, "t_b": False}
    run("tenants", "enable", "t_b")
    assert Tenant.objects.get(pk="t_b").is_active


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tenants", "create", "t_dup"), "already exists"),
        (("tenants", "disable", "t_missing"), "No tenant"),
        (("tenants", "create", "t_weak", "--secret", "short"), "at least 16"),
        (("apikeys", "create", "t_dup", "--scopes", "ingest,root"), "Unknown scope"),
        (("apikeys", "revoke", "fb_live_nothing"), "No API key"),
        (("apikeys", "list", "t_missing"), "No tenant"),
    ],
)
def test_bad_arguments_fail_with_a_clear_error(args, message):
    run("tenants", "create", "t_dup")

    with pytest.raises(CommandError, match=message):
        run(*args)


def test_invalid_slug_fails_clearly():
    with pytest.raises((CommandError, Exception), match="lowercase"):
        run("tenants", "create", "Not A Slug")


def test_apikeys_create_list_revoke(client):
    run("tenants", "create", "t_keys")

    created = run_json("apikeys", "create", "t_keys", "--name", "zap", "--scopes", "ingest,read")

    assert created["key"].startswith(created["prefix"])
    assert created["scopes"] == ["ingest", "read"]
    listed = run_json("apikeys", "list", "t_keys")
    assert [k["prefix"] for k in listed] == [created["prefix"]]
    assert created["key"] not in json.dumps(listed)
    auth = {"Authorization": f"Bearer {created['key']}"}
    ok = client.post("/v1/events", b"{}", content_type="application/json", headers=auth)
    assert ok.status_code == 202

    revoked = run_json("apikeys", "revoke", created["prefix"])

    assert revoked["revoked_at"] is not None
    refused = client.post("/v1/events", b"{}", content_type="application/json", headers=auth)
    assert refused.status_code == 401
    assert Submission.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is not None


@pytest.mark.django_db(transaction=True)
def test_command_line_exit_status_and_stderr():
    """A script sees a non-zero exit and a readable message on stderr."""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]

    ok = subprocess.run(
        [*manage, "tenants", "create", "t_cli", "--json"], env=env, capture_output=True, text=True
    )
    again = subprocess.run(
        [*manage, "tenants", "create", "t_cli"], env=env, capture_output=True, text=True
    )
    usage = subprocess.run([*manage, "tenants", "explode"], env=env, capture_output=True, text=True)

    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["id"] == "t_cli"
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert usage.returncode != 0
    assert "invalid choice" in usage.stderr
