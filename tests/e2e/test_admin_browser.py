"""The operator console in a real browser (Debian's headless Chromium via Playwright): log in,
create a tenant and see its secret once, add a destination, send a test, watch a failing
delivery go dead, redrive it once the receiver is fixed. Screenshots of the dashboard and a
submission's page are saved under var/screenshots/."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model

from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus
from ingest.models import Submission
from tests.e2e.conftest import CHROMIUM, SCREENSHOTS
from tests.e2e.stack import verify_standard_webhook, wait_until
from tests.signing import signed_headers

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="chromium missing (.ci/run installs it)"
    ),
]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    # Where the test ended (or failed): look here first when it goes red.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / "last-page.png"), full_page=True)
    (SCREENSHOTS / "last-page.html").write_text(tab.content())
    context.close()


def submit(live_server, tenant_id: str, secret: str, body: dict) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = signed_headers(tenant_id=tenant_id, secret=secret, body=raw)
    return httpx.post(
        f"{live_server.url}/v1/ingest",
        content=raw,
        headers={**headers, "Content-Type": "application/json"},
    )


def test_operator_console_in_chromium(page, live_server, receiver, celery_stack):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-pass-123!")
    receiver.set("/hook", [200])

    # Log in
    page.goto("/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "ops-pass-123!")
    page.click("input[type=submit]")
    page.wait_for_selector("#fb-dashboard-link")

    # Create a tenant: its signing secret is shown once
    page.goto("/admin/tenants/tenant/add/")
    page.fill("#id_id", "t_browser")
    page.fill("#id_name", "Browser Ltd")
    page.click("input[name=_save]")
    secret = page.inner_text('code.fb-secret[data-label="Signing secret"]').strip()
    assert secret.startswith("fbs_")
    page.click("text=I have copied it")
    page.wait_for_selector("#tenant_form")
    assert secret not in page.content()
    page.goto("/admin/tenants/tenant/t_browser/change/")
    assert secret not in page.content()

    # Add a destination (validated by the service), with a generated signing secret
    page.goto("/admin/delivery/destination/add/")
    page.select_option("#id_tenant", "t_browser")
    page.fill("#id_name", "crm")
    page.fill("#id_url", receiver.url("/hook"))
    page.fill("#id_retry_schedule", "[0.2, 0.2]")
    page.click("input[name=_save]")
    whsec = page.inner_text("code.fb-secret").strip()
    assert whsec.startswith("whsec_")
    page.click("text=I have copied it")

    # Send a test event and read what the receiver answered
    page.click("text=Send test")
    page.click("input[value='Send test event']")
    assert page.inner_text(".fb-outcome") == "success"
    assert page.inner_text(".fb-status") == "200"
    assert page.inner_text(".fb-duration").endswith(" ms")
    [test_event] = receiver.at("/hook")
    assert test_event.event["event_type"] == "formbridge.test"

    # A delivery that keeps failing goes dead...
    receiver.set("/hook", [500])
    response = submit(
        live_server,
        "t_browser",
        secret,
        {"submission_id": "lead-1", "form_id": "contact", "payload": {"email": "jane@example.com"}},
    )
    assert response.status_code == 202, response.text
    wait_until(
        lambda: Delivery.objects.filter(status=DeliveryStatus.DEAD).exists(),
        seconds=45,
        what=f"a dead letter; log: {celery_stack.read_text()[-1500:]}",
    )
    assert DeliveryAttempt.objects.filter(delivery__status="dead").count() == 3

    # ...and shows on the dead letters page with its last error
    page.goto("/admin/delivery/deadletter/")
    row = page.locator("#result_list tbody tr")
    assert row.count() == 1
    assert "HTTP 500" in row.inner_text()

    # The submission's page: pretty payload, the delivery and every attempt
    submission = Submission.objects.get(submission_id="lead-1")
    page.goto(f"/admin/ingest/submission/{submission.pk}/change/")
    assert '"email": "jane@example.com"' in page.inner_text("pre.fb-json")
    # Two deliveries (crm, and the tenant's default inbox, still waiting): crm's three attempts
    assert page.locator("table.fb-attempts tr:has(td)").count() == 3
    page.screenshot(path=str(SCREENSHOTS / "submission-detail.png"), full_page=True)

    # Fix the receiver, redrive from the dead letters page
    receiver.set("/hook", [200])
    page.goto("/admin/delivery/deadletter/")
    page.check("#result_list tbody input.action-select")
    page.select_option("select[name=action]", "redrive")
    page.click("button[name=index]")
    assert "Redrove 1 dead letter(s)." in page.inner_text("ul.messagelist")
    wait_until(
        lambda: (
            Delivery.objects.get(submission=submission, destination__name="crm").status
            == DeliveryStatus.SUCCEEDED
        ),
        seconds=30,
        what="the redriven delivery to succeed",
    )
    delivered = [r for r in receiver.at("/hook") if r.event.get("submission_id") == "lead-1"]
    assert delivered[-1].event["payload"] == {"email": "jane@example.com"}
    assert verify_standard_webhook(whsec, delivered[-1])
    page.goto("/admin/delivery/deadletter/")
    assert page.locator("#result_list tbody tr").count() == 0

    # The dashboard reads the daily figures: 1 submission, 2 retries, 1 dead, 1 delivered
    page.goto("/admin/dashboard/")
    heading = page.inner_text('.fb-tenant[data-tenant="t_browser"] h2')
    assert "1 submissions, 1 delivered, 2 retries, 1 dead letters" in heading
    assert page.locator('.fb-tenant[data-tenant="t_browser"] svg.fb-chart').count() == 4
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    assert (SCREENSHOTS / "dashboard.png").stat().st_size > 10_000
