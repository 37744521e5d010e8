"""The WordPress plugin in a real WordPress (Debian's package) on the machine's MariaDB, sending
to a live FormBridge: PHPUnit fires each form plugin's hook, and this test then finds every
submission in FormBridge, with its form and fields, exactly once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from ingest.models import Submission
from tests.factories import tenant_with_secret
from tests.faults.stack import free_port
from tests.vendors import FaultProxy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "clients" / "wordpress" / "formbridge"
TESTS = ROOT / "clients" / "wordpress" / "tests"
WORDPRESS = Path("/usr/share/wordpress")
DATABASE = "formbridge_wp_test"


def mysql(sql: str) -> None:
    subprocess.run(
        ["mysql", "-h", "127.0.0.1", "-u", "root", "-e", sql], check=True, capture_output=True
    )


@pytest.fixture
def wordpress(tmp_path):
    """A fresh database and a content folder holding the plugin, as a site would install it."""
    missing = [p for p in ("php", "phpunit", "mysql") if shutil.which(p) is None]
    assert not missing and WORDPRESS.exists(), (
        f"install Debian's wordpress, phpunit, php-mysql and a MySQL client ({missing})"
    )
    mysql(f"DROP DATABASE IF EXISTS {DATABASE}; CREATE DATABASE {DATABASE}")
    plugins = tmp_path / "wp-content" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "formbridge").symlink_to(PLUGIN)
    yield tmp_path
    mysql(f"DROP DATABASE IF EXISTS {DATABASE}")


def test_the_plugin_in_a_real_wordpress_delivers_each_submission_once(
    wordpress, live_server, capsys
):
    acme = tenant_with_secret("t_acme")
    formbridge = FaultProxy(live_server.url).start()  # counts every request that reaches it
    expectations, ledger = wordpress / "expected.json", wordpress / "ledger.json"
    env = {
        **os.environ,
        "WP_DB_NAME": DATABASE,
        "WP_CONTENT_DIR": str(wordpress / "wp-content"),
        "FORMBRIDGE_URL": formbridge.base,
        "FORMBRIDGE_DOWN_URL": f"http://127.0.0.1:{free_port()}",
        "FORMBRIDGE_TENANT_ID": "t_acme",
        "FORMBRIDGE_SECRET": acme.signing_secret,
        "FORMBRIDGE_EXPECTATIONS": str(expectations),
        "FORMBRIDGE_LEDGER": str(ledger),
    }
    try:
        installed = subprocess.run(
            ["php", str(TESTS / "install.php")], cwd=TESTS, env=env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert installed.returncode == 0, installed.stdout + installed.stderr[-3000:]
        done = subprocess.run(
            ["phpunit", "--configuration", str(TESTS / "phpunit.xml")],
            cwd=TESTS,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        formbridge.stop()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]

    expected = json.loads(expectations.read_text())
    stored = {s.submission_id: s for s in Submission.objects.filter(tenant_id="t_acme")}
    for submission_id, want in expected.items():
        submission = stored.get(submission_id)
        assert submission is not None, f"{submission_id} never reached FormBridge"
        assert (submission.source, submission.form_id) == ("wordpress", want["form_id"])
        for name, value in (want["fields"] or {}).items():  # PHP writes an empty map as []
            assert submission.payload[name] == value, (submission_id, name)
        assert submission.payload["_wordpress"]["site_url"] == "http://wordpress.test"
        assert [a.get("filename") for a in submission.attachments] == [
            f.get("filename") for f in want["files"]
        ]
        for spooled, kept in zip(want["files"], submission.attachments, strict=True):
            # A file the plugin spooled arrived with its content, stored by FormBridge.
            assert ("spool" in spooled) == ("key" in kept and kept["size"] > 0), (spooled, kept)
    # Exactly once: each submission FormBridge accepted was sent by the plugin as accepted
    # once, and nothing else arrived (the only repeats are retries of failed tries).
    assert set(stored) == set(expected)  # the connection test stored nothing
    posted = Counter(
        c.json()["submission_id"] for c in formbridge.at("/v1/ingest") if c.body.startswith(b"{")
    )
    outage = json.loads(ledger.read_text())
    # The outage's entries (WPForms entries 9001-9020), each its own UUIDv7: found by the entry
    # id the plugin sends as metadata.
    outage_entries = {str(9000 + n) for n in range(1, 21)}
    outage_ids = [
        s for s in expected
        if s in stored and stored[s].payload["_wordpress"]["entry_id"] in outage_entries
    ]  # fmt: skip
    summary = {
        "queued": outage["queued"],
        "delivered": sum(1 for s in outage_ids if s in stored),
        "duplicates": sum(posted[s] - 1 for s in outage_ids),
    }
    with capsys.disabled():
        print(f"\nwordpress outage ledger: {summary}")
    assert summary == {"queued": 20, "delivered": 20, "duplicates": 0}


def test_make_builds_the_installable_zip(tmp_path):
    """`make wordpress-plugin` writes dist/formbridge.zip: one folder, the plugin's files, each
    valid PHP."""
    import zipfile

    subprocess.run(["make", "wordpress-plugin"], cwd=ROOT, check=True, capture_output=True)

    with zipfile.ZipFile(ROOT / "dist" / "formbridge.zip") as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path)
    assert {"formbridge/formbridge.php", "formbridge/uninstall.php"} <= names
    assert {n.split("/")[0] for n in names} == {"formbridge"}
    header = (tmp_path / "formbridge" / "formbridge.php").read_text()
    assert "Plugin Name:       FormBridge" in header and "Text Domain:       formbridge" in header
    for php in (tmp_path / "formbridge").rglob("*.php"):
        lint = subprocess.run(["php", "-l", str(php)], capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr
