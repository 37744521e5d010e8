"""A small Django site (clients/python/tests/site) saves leads with their outbox rows in one
transaction and sends them to a live FormBridge: at once after commit, and by
`manage.py formbridge_flush` after an outage, each exactly once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
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

    def env(self, url: str) -> dict[str, str]:
        return {
            **os.environ,
            "SITE_DIR": str(self.folder),
            "FORMBRIDGE_URL": url,
            "FORMBRIDGE_TENANT_ID": "t_acme",
            "FORMBRIDGE_SECRET": self.secret,
            "PYTHONPATH": str(CLIENT),
            "DJANGO_SETTINGS_MODULE": "tests.site.settings",
        }

    def start(self, url: str, *args: str) -> subprocess.Popen:
        """manage.py in the background (a flush running while the site saves)."""
        return subprocess.Popen(
            [sys.executable, str(CLIENT / "tests" / "site" / "manage.py"), *args],
            cwd=CLIENT, env=self.env(url), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def run(self, url: str, *args: str) -> str:
        return self.run_with_log(url, *args)[0]

    def run_with_log(self, url: str, *args: str) -> tuple[str, str]:
        """manage.py's output, and what it logged (stderr)."""
        env = self.env(url)
        done = subprocess.run(
            [sys.executable, str(CLIENT / "tests" / "site" / "manage.py"), *args],
            cwd=CLIENT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout, done.stderr

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


@pytest.fixture
def hung():
    """FormBridge accepting connections and never answering."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


TIMED_SAVE = SAVE + (
    "import time; t = time.monotonic(); lead_save(email='late@example.com'); "
    "print('saved in', time.monotonic() - t)"
)


def saved_in(output: str) -> float:
    return float(output.strip().splitlines()[-1].split()[-1])


def test_a_hung_formbridge_never_slows_a_save_nor_locks_the_sites_database(site, hung, formbridge):
    """The review's loss (issue 29): a flush sent HTTP inside a transaction, so on SQLite a new
    lead saved meanwhile failed with `database is locked`, and the on-commit send made the
    saving request wait the whole timeout."""
    site.shell(hung, SAVE + "; ".join(f"lead_save(email='q{n}@example.com')" for n in range(4)))
    flushing = site.start(hung, "formbridge_flush", "--now")  # 4 rows, 2 s each, all hung
    time.sleep(3.0)  # the flush is on its second row

    during = site.shell(hung, TIMED_SAVE)
    flushed = flushing.communicate(timeout=60)

    assert flushing.returncode == 0, flushed[1][-2000:]
    assert saved_in(during) < 0.1, during  # the on-commit send went to a background thread
    assert "retrying" in flushed[0]
    rows = site.outbox(hung)
    assert len(rows) == 5 and {r["status"] for r in rows} == {"pending"}
    # And once FormBridge answers again, every lead arrives once.
    site.run(formbridge.base, "formbridge_flush", "--now")
    final = site.outbox(formbridge.base)
    assert {r["status"] for r in final} == {"sent"}, final
    assert Submission.objects.filter(tenant_id="t_acme").count() == 5


def test_the_outbox_status_command_and_requeueing_parked_rows(site, formbridge):
    site.shell(formbridge.base, SAVE + "lead_save(email='a@example.com')")
    site.shell(
        formbridge.base,
        "from formbridge_client.django.models import OutboxMessage as O; "
        "O.objects.update(status='parked')",
    )

    parked = site.run(formbridge.base, "formbridge_outbox", "status")
    requeued = site.run(formbridge.base, "formbridge_outbox", "requeue")
    after = site.run(formbridge.base, "formbridge_outbox", "status")

    assert parked.startswith("pending 0, parked 1, sent 0, oldest pending -")
    assert "requeued 1" in requeued
    assert after.startswith("pending 1, parked 0, sent 0, oldest pending ")


def test_every_failed_try_is_logged_with_its_row(site):
    down = f"http://127.0.0.1:{free_port()}"
    site.shell(down, SAVE + "lead_save(email='a@example.com')")

    _, logged = site.run_with_log(down, "formbridge_flush", "--now")

    assert "formbridge: send failed, will retry" in logged
