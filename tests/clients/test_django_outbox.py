"""A small Django site (clients/python/tests/site) saves leads with their outbox rows in one
transaction and sends them to a live FormBridge: at once after commit, and by
`manage.py formbridge_flush` after an outage, each exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ingest.models import Submission
from tests.factories import tenant_with_secret
from tests.faults.stack import free_port
from tests.vendors import FaultProxy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "python"


class Site:
    """The site's manage.py, in its own process and its own SQLite database."""

    def __init__(self, folder: Path, secret: str) -> None:
        self.folder, self.secret = folder, secret

    def run(self, url: str, *args: str) -> str:
        env = {
            **os.environ,
            "SITE_DIR": str(self.folder),
            "FORMBRIDGE_URL": url,
            "FORMBRIDGE_TENANT_ID": "t_acme",
            "FORMBRIDGE_SECRET": self.secret,
            "PYTHONPATH": str(CLIENT),
            "DJANGO_SETTINGS_MODULE": "tests.site.settings",
        }
        done = subprocess.run(
            [sys.executable, str(CLIENT / "tests" / "site" / "manage.py"), *args],
            cwd=CLIENT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def shell(self, url: str, code: str) -> str:
        return self.run(url, "shell", "-c", code)

    def outbox(self, url: str) -> list[dict]:
        code = (
            "import json; from formbridge_client.django.models import OutboxMessage as O; "
            "print(json.dumps(list(O.objects.values('submission_id', 'status', 'attempts'))))"
        )
        return json.loads(self.shell(url, code).strip().splitlines()[-1])


@pytest.fixture
def site(tmp_path, live_server):
    acme = tenant_with_secret("t_acme")
    site = Site(tmp_path, acme.signing_secret)
    site.run(live_server.url, "migrate", "--noinput")
    return site


@pytest.fixture
def formbridge(live_server):
    """FormBridge behind a proxy that counts what reaches it."""
    proxy = FaultProxy(live_server.url).start()
    yield proxy
    proxy.stop()


SAVE = "from tests.site.leads.services import lead_save; "


def test_a_lead_is_sent_after_commit_and_a_rolled_back_one_never(site, formbridge):
    site.shell(formbridge.base, SAVE + "lead_save(email='jane@example.com')")
    site.shell(
        formbridge.base,
        SAVE + "\ntry:\n lead_save(email='ghost@example.com', fail_after_outbox=True)\n"
        "except RuntimeError:\n pass",
    )

    assert site.outbox(formbridge.base) == [
        {"submission_id": "lead-1", "status": "sent", "attempts": 1}
    ]
    [stored] = Submission.objects.filter(tenant_id="t_acme")
    assert (stored.submission_id, stored.form_id) == ("lead-1", "contact")
    assert stored.payload["email"] == "jane@example.com"
    assert len(formbridge.at("/v1/ingest")) == 1


def test_leads_saved_during_an_outage_are_delivered_once_after_it(site, formbridge, capsys):
    down = f"http://127.0.0.1:{free_port()}"  # FormBridge stopped: nothing listens
    saves = "; ".join(f"lead_save(email='lead{n}@example.com')" for n in range(20))

    site.shell(down, SAVE + saves)  # each on-commit send fails quietly: the page still works
    while_down = site.run(down, "formbridge_flush", "--now")
    queued = site.outbox(down)

    assert {row["status"] for row in queued} == {"pending"}
    assert len(queued) == 20 and not Submission.objects.exists()
    assert "retrying 20" in while_down

    back = site.run(formbridge.base, "formbridge_flush", "--now")
    again = site.run(formbridge.base, "formbridge_flush", "--now")

    delivered = Counter(
        Submission.objects.filter(tenant_id="t_acme").values_list("submission_id", flat=True)
    )
    answers = Counter(c.json()["submission_id"] for c in formbridge.at("/v1/ingest"))
    ledger = {
        "queued": len(queued),
        "delivered": len(delivered),
        "duplicates": sum(n - 1 for n in answers.values()),
    }
    with capsys.disabled():
        print(f"\noutbox outage ledger: {ledger}")
    assert "sent 20" in back and "sent 0" in again
    assert ledger == {"queued": 20, "delivered": 20, "duplicates": 0}
    assert {row["status"] for row in site.outbox(formbridge.base)} == {"sent"}
