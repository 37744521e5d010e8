"""The client as a Django site would use it (issue 29): a project made by `django-admin
startproject`, on SQLite and on PostgreSQL, with the client installed from clients/python (a
built package, not the source tree), a view that saves a lead and queues it in the outbox, and
`manage.py runserver` serving real HTTP. Leads are posted while FormBridge is up, stopped and
hung; then the outbox is flushed. Every lead arrives exactly once, none is lost, and no request
is slowed by FormBridge by more than 100 ms."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest
from django.db import connection

from ingest.models import Submission
from tests.factories import tenant_with_secret
from tests.faults.stack import free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
LEADS_PER_PHASE = 8
SLOWED_BY_AT_MOST = 0.1

VIEW = """
import json

from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from formbridge_client.django import outbox_submit

from .models import Lead


@csrf_exempt
def contact(request):
    data = json.loads(request.body)
    with transaction.atomic():
        lead = Lead.objects.create(email=data["email"])
        outbox_submit(form_id="contact", payload={"email": lead.email},
                      submission_id=f"lead-{lead.pk}")
    return JsonResponse({"lead": lead.pk})
"""
MODEL = """
from django.db import models


class Lead(models.Model):
    email = models.EmailField()
"""
SETTINGS = """
import os

INSTALLED_APPS += ["formbridge_client.django", "leads"]
ALLOWED_HOSTS = ["127.0.0.1"]
if os.environ["SITE_DB"] == "postgresql":
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1",
                             "USER": "postgres", "NAME": os.environ["SITE_DB_NAME"]}}
FORMBRIDGE_URL = os.environ["FORMBRIDGE_URL"]
FORMBRIDGE_TENANT_ID = "t_acme"
FORMBRIDGE_SECRET = os.environ["FORMBRIDGE_SECRET"]
FORMBRIDGE_TIMEOUT = 2.0
"""


class Project:
    """A Django project made as a user makes one, with the client pip-installed into it."""

    def __init__(self, folder: Path, database: str, secret: str) -> None:
        self.folder, self.database, self.secret = folder, database, secret
        self.db_name = f"site_{os.getpid()}_{database}"
        packages = folder / "packages"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
             str(packages), str(ROOT / "clients" / "python")],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        self.packages = packages
        # Installed as a user installs it: typed, and described by its README.
        assert (packages / "formbridge_client" / "py.typed").exists()
        [metadata] = packages.glob("formbridge_client-*.dist-info/METADATA")
        assert "## Verify FormBridge's webhooks" in metadata.read_text()
        django_admin = Path(sys.executable).parent / "django-admin"
        self.base = folder / "leadsite"
        self.base.mkdir()
        subprocess.run([str(django_admin), "startproject", "leadsite", str(self.base)],
                       check=True, timeout=60)  # fmt: skip
        self.manage("startapp", "leads")
        (self.base / "leads" / "models.py").write_text(MODEL)
        (self.base / "leads" / "views.py").write_text(VIEW)
        urls = self.base / "leadsite" / "urls.py"
        urls.write_text(
            urls.read_text().replace("from django.urls import path", "from django.urls import path"
                                     "\nfrom leads.views import contact")
            .replace("urlpatterns = [", 'urlpatterns = [\n    path("contact", contact),')
        )  # fmt: skip
        settings = self.base / "leadsite" / "settings.py"
        settings.write_text(settings.read_text() + SETTINGS)
        if database == "postgresql":
            with psycopg.connect("postgresql://postgres@127.0.0.1/postgres", autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{self.db_name}"')
                db.execute(f'CREATE DATABASE "{self.db_name}"')
        self.manage("makemigrations", "leads")
        self.manage("migrate", "--noinput")

    def env(self, formbridge: str = "http://127.0.0.1:9") -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(self.packages),  # the installed client, not the source tree
            "DJANGO_SETTINGS_MODULE": "leadsite.settings",
            "SITE_DB": self.database,
            "SITE_DB_NAME": self.db_name,
            "FORMBRIDGE_URL": formbridge,
            "FORMBRIDGE_SECRET": self.secret,
        }

    def manage(self, *args: str, formbridge: str = "http://127.0.0.1:9") -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=self.base, env=self.env(formbridge),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def serve(self, formbridge: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=self.base, env=self.env(formbridge), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(url + "/admin/login/").status_code < 500
            except httpx.HTTPError:
                return False

        wait_until(up, seconds=30, what="runserver")
        return server, url

    def drop(self) -> None:
        if self.database == "postgresql":
            with psycopg.connect("postgresql://postgres@127.0.0.1/postgres", autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


class Hung:
    """A FormBridge that accepts connections and never answers."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        self.listener.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                self.held.append(self.listener.accept()[0])
            except (TimeoutError, OSError):
                continue

    def close(self) -> None:
        self.stopping.set()
        for held in self.held:
            held.close()
        self.listener.close()


def post_leads(url: str, phase: str, count: int) -> list[float]:
    """POST each lead as a browser's form handler would; the seconds each request took."""
    seconds = []
    with httpx.Client(timeout=30) as client:
        for n in range(count):
            started = time.monotonic()
            answer = client.post(f"{url}/contact", json={"email": f"{phase}{n}@example.com"})
            seconds.append(time.monotonic() - started)
            assert answer.status_code == 200, answer.text[:500]
    return seconds


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_django_project_loses_no_lead_whatever_formbridge_does(
    tmp_path, live_server, database, capsys
):
    acme = tenant_with_secret("t_acme")
    project = Project(tmp_path, database, acme.signing_secret)
    hung = Hung()
    stopped = f"http://127.0.0.1:{free_port()}"
    timings: dict[str, list[float]] = {}
    try:
        for phase, formbridge in (("up", live_server.url), ("down", stopped),
                                  ("hung", hung.url)):  # fmt: skip
            server, url = project.serve(formbridge)
            try:
                timings[phase] = post_leads(url, phase, LEADS_PER_PHASE)
            finally:
                server.send_signal(signal.SIGINT)  # as an operator stops it: atexit runs
                server.wait(timeout=30)
        hung.close()
        # FormBridge answers again: the outbox is flushed until nothing is pending.
        time.sleep(1)
        project.manage("formbridge_flush", "--now", formbridge=live_server.url)
        status = project.manage("formbridge_outbox", "status", formbridge=live_server.url)
    finally:
        hung.close()
        connection.close()
        project.drop()

    delivered = Counter(
        Submission.objects.filter(tenant_id="t_acme").values_list("payload__email", flat=True)
    )
    expected = {f"{p}{n}@example.com" for p in timings for n in range(LEADS_PER_PHASE)}
    baseline = sorted(timings["up"])[len(timings["up"]) // 2]
    slowest = {phase: round(max(seconds) * 1000, 1) for phase, seconds in timings.items()}
    with capsys.disabled():
        print(f"\ndjango project ({database}): {len(expected)} leads, {len(delivered)} delivered, "
              f"slowest request by phase {slowest} ms, median when up {baseline * 1000:.1f} ms; "
              f"{status.strip()}")  # fmt: skip
    assert set(delivered) == expected, expected - set(delivered)
    assert set(delivered.values()) == {1}  # each exactly once
    assert status.startswith("pending 0, parked 0")
    for phase in ("down", "hung"):
        assert max(timings[phase]) <= baseline + SLOWED_BY_AT_MOST + 0.05, (phase, timings)
