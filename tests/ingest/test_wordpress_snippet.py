"""The seed's PHP snippet, run by real PHP against a live server, is accepted byte-for-byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.models import Submission
from tests.factories import tenant_with_secret

SNIPPET = Path(__file__).with_name("php") / "readme_snippet.php"

# CI installs php-cli; a developer machine without PHP skips rather than fails.
needs_php = pytest.mark.skipif(
    shutil.which("php") is None and not os.environ.get("CI"),
    reason="php-cli is not installed (.ci/run installs it)",
)


@needs_php
@pytest.mark.django_db(transaction=True)
def test_seed_php_snippet_is_accepted(live_server):
    created = tenant_with_secret("t_wordpress")

    result = subprocess.run(
        ["php", str(SNIPPET)],
        env={
            **os.environ,
            "FB_API": f"{live_server.url}/v1/ingest",
            "FB_TENANT": "t_wordpress",
            "FB_SECRET": created.signing_secret,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    answer = json.loads(result.stdout)
    assert answer["code"] == 202, answer
    receipt = json.loads(answer["body"])
    assert receipt["status"] == "accepted"
    row = Submission.objects.get(tenant_id="t_wordpress")
    assert row.submission_id == receipt["submission_id"]
    assert row.payload == {
        "name": "Jane",
        "email": "jane@example.com",
        "message": 'Hello! Ünïcode, "quotes" and /slashes/',
        "url": "https://example.com/contact",
    }
