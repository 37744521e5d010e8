"""A plain HTML form on another site, posted by a real browser (Debian's headless Chromium via
Playwright): the page is served from its own origin on loopback, the browser lands on the
thank-you page, the submission and its file are stored and delivered by a real Celery worker,
and the destination fetches the file by its link. A filled honeypot lands in spam; a page from
an origin the form does not allow is refused."""

from __future__ import annotations

import functools
import hashlib
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus
from ingest.models import Submission, SubmissionStatus
from tests.e2e.conftest import CHROMIUM, SCREENSHOTS
from tests.e2e.stack import wait_until
from tests.factories import tenant_with_secret
from webforms import services as form_services

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="chromium missing (.ci/run installs it)"
    ),
]

FORM_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Apply</title></head>
<body>
<h1>Apply</h1>
<form action="{action}" method="post" enctype="multipart/form-data">
  <input name="name" id="name">
  <input name="email" id="email" type="email">
  <textarea name="message" id="message"></textarea>
  <input name="cv" id="cv" type="file">
  <input name="_gotcha" id="gotcha" type="text" style="display:none" tabindex="-1">
  <button id="send">Send</button>
</form>
</body></html>
"""
THANKS_PAGE = "<!doctype html><html><body><h1 id='thanks'>Thanks, we got it</h1></body></html>"


class Site:
    """A static site on its own loopback origin."""

    def __init__(self, folder) -> None:
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def public_url(live_server, monkeypatch):
    """Links in events point at this live server (the worker has no request to take it from)."""
    monkeypatch.setenv("PUBLIC_URL", live_server.url)
    return live_server.url


@pytest.fixture
def sites(tmp_path, public_url):
    made = []

    def make(name: str, form_key: str) -> Site:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "apply.html").write_text(FORM_PAGE.format(action=f"{public_url}/f/{form_key}"))
        (folder / "thanks.html").write_text(THANKS_PAGE)
        site = Site(folder)
        made.append(site)
        return site

    yield make
    for site in made:
        site.stop()


def test_a_browser_form_from_another_site(
    browser,
    public_url,
    sites,
    receiver,
    celery_stack,
    tmp_path,
):
    # Given: a tenant, a destination, a form on a site of its own
    tenant = tenant_with_secret("t_shop").tenant
    delivery_services.destination_create(tenant=tenant, name="crm", url=receiver.url("/hook"))
    form = form_services.form_create(tenant=tenant, form_id="apply")
    site = sites("shop", form.form_key)
    elsewhere = sites("elsewhere", form.form_key)
    form_services.form_update(
        form=form, allowed_origins=[site.origin], redirect_url=f"{site.origin}/thanks.html"
    )
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 64)
    page = browser.new_page()
    page.set_default_timeout(15_000)

    # When: a person fills the form in and sends it
    page.goto(f"{site.origin}/apply.html")
    page.fill("#name", "Ada Lovelace")
    page.fill("#email", "ada@example.com")
    page.fill("#message", "Hello from the browser")
    page.set_input_files("#cv", str(cv))
    page.click("#send")

    # Then: the browser lands on the thank-you page
    page.wait_for_selector("#thanks")
    assert page.url == f"{site.origin}/thanks.html"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "form-thanks.png"))

    # And: stored with its file, delivered by the worker, and the file fetched by its link
    submission = Submission.objects.get(tenant=tenant)
    assert submission.source == "form" and submission.status == SubmissionStatus.ACCEPTED
    assert submission.payload == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "message": "Hello from the browser",
    }
    [attachment] = submission.attachments
    assert attachment["filename"] == "cv.pdf"
    assert attachment["sha256"] == hashlib.sha256(cv.read_bytes()).hexdigest()
    wait_until(
        lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 1,
        seconds=30,
        what="the worker delivers the form's submission",
    )
    [delivered] = receiver.at("/hook")
    [sent] = delivered.event["attachments"]
    fetched = httpx.get(sent["url"])
    assert fetched.status_code == 200
    assert fetched.content == cv.read_bytes()

    # When: a bot fills in the honeypot
    page.goto(f"{site.origin}/apply.html")
    page.fill("#name", "Bot")
    page.evaluate("document.getElementById('gotcha').value = 'http://spam.example'")
    page.click("#send")

    # Then: it lands on the same thank-you page, and the post is spam, sent nowhere
    page.wait_for_selector("#thanks")
    spam = Submission.objects.get(tenant=tenant, status=SubmissionStatus.SPAM)
    # (a file input left empty is sent as an empty field, as the browser posts it)
    assert spam.payload == {"name": "Bot", "email": "", "message": "", "cv": ""}
    assert not Delivery.objects.filter(submission=spam).exists()

    # When: the same form is posted from a page of another origin
    page.goto(f"{elsewhere.origin}/apply.html")
    page.fill("#name", "Mallory")
    page.click("#send")

    # Then: refused with a page that says why, and nothing is stored
    page.wait_for_selector("text=The form was not sent")
    assert "origin_not_allowed" in page.content()
    assert Submission.objects.filter(tenant=tenant).count() == 2
    page.close()
