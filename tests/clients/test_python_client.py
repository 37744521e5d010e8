"""The Python client (clients/python) against a live FormBridge: pytest-django's live server, a
real HTTP server on the test database, with a fault proxy in front where FormBridge must fail."""

from __future__ import annotations

import pytest
from formbridge_client import (
    AuthenticationError,
    Client,
    ConnectionFailed,
    InvalidRequest,
    ServerError,
    uuid7,
)

from ingest.models import Submission
from tenants.services import api_key_create
from tests.factories import tenant_with_secret
from tests.faults.stack import free_port
from tests.vendors import FaultProxy, json_answer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme(settings):
    return tenant_with_secret("t_acme", with_inbox=True)


@pytest.fixture
def proxy(live_server):
    server = FaultProxy(live_server.url).start()
    yield server
    server.stop()


def test_submit_signs_sends_and_a_resend_is_a_duplicate(live_server, acme):
    client = Client(live_server.url, "t_acme", acme.signing_secret)

    first = client.submit(form_id="contact", payload={"email": "jane@example.com"},
                          submission_id="lead-1", event_type="lead.created")  # fmt: skip
    again = client.submit(form_id="contact", payload={"email": "jane@example.com"},
                          submission_id="lead-1")  # fmt: skip

    assert (first["status"], again["status"]) == ("accepted", "duplicate")
    stored = Submission.objects.get(tenant_id="t_acme", submission_id="lead-1")
    assert (stored.form_id, stored.event_type, stored.payload) == (
        "contact", "lead.created", {"email": "jane@example.com"},
    )  # fmt: skip


def test_retries_back_off_honour_retry_after_and_keep_the_submission_id(proxy, acme):
    sleeps = []
    client = Client(proxy.base, "t_acme", acme.signing_secret, sleep=sleeps.append)
    proxy.fail_next(
        json_answer(503, {"error": {"code": "database_unavailable", "message": "down"}},
                    {"Retry-After": "7"}),
        (502, {"Content-Type": "text/html"}, b"<h1>Bad gateway</h1>"),
    )  # fmt: skip

    answer = client.submit(form_id="contact", payload={"n": 1})

    assert answer["status"] == "accepted"
    assert len(sleeps) == 2 and sleeps[0] >= 7
    ids = {c.json()["submission_id"] for c in proxy.at("/v1/ingest")}
    assert len(ids) == 1  # the same id on every try: a lost answer can only cause a duplicate
    assert Submission.objects.filter(submission_id=answer["submission_id"]).count() == 1


def test_errors_carry_formbridges_code_and_are_not_retried(live_server, acme):
    sleeps = []
    wrong = Client(live_server.url, "t_acme", "fbs_not-the-secret", sleep=sleeps.append)
    with pytest.raises(AuthenticationError) as refused:
        wrong.submit(form_id="contact", payload={"n": 1})
    assert refused.value.status == 401 and refused.value.code
    client = Client(live_server.url, "t_acme", acme.signing_secret, sleep=sleeps.append)
    with pytest.raises(InvalidRequest) as invalid:
        client.submit(form_id="contact", payload={"n": 1}, submission_id="x" * 200)
    assert invalid.value.status == 400 and invalid.value.code
    assert sleeps == []
    assert not Submission.objects.exists()


def test_unreachable_and_5xx_give_up_after_max_retries(proxy, acme):
    down = Client(
        f"http://127.0.0.1:{free_port()}", "t_acme", acme.signing_secret, sleep=lambda s: None
    )
    with pytest.raises(ConnectionFailed):
        down.submit(form_id="contact", payload={})
    failing = Client(proxy.base, "t_acme", acme.signing_secret, max_retries=2, sleep=lambda s: None)
    proxy.fail_next(*[json_answer(500, {"error": {"code": "internal", "message": "x"}})] * 3)
    with pytest.raises(ServerError) as failed:
        failing.submit(form_id="contact", payload={})
    assert failed.value.code == "internal"
    assert len(proxy.at("/v1/ingest")) == 3


def test_events_and_the_inbox_with_leases_and_acks(live_server, acme):
    key = api_key_create(tenant=acme.tenant, name="app", scopes=["ingest", "inbox"]).key
    client = Client(live_server.url, api_key=key)

    sent = [client.send_event({"event_type": "order.paid", "order": n}) for n in range(3)]
    page = client.inbox(lease=30, limit=2)

    assert {s["status"] for s in sent} == {"accepted"}
    assert [e.payload["order"] for e in page.events] == [0, 1]
    assert page.events[0].event_type == "order.paid" and page.events[0].attempt == 1
    assert client.ack([e.event_id for e in page.events]) == 2
    rest = client.inbox(lease=30)
    assert [e.payload["order"] for e in rest.events] == [2]  # the leased-and-acked are gone
    assert client.ack(rest.events[0].event_id) == 1
    assert client.inbox().events == []


def test_uuid7_is_time_ordered_and_versioned():
    first, second = uuid7(), uuid7()
    assert first[14] == "7" and first[19] in "89ab"
    assert first[:13] <= second[:13]


def test_a_redirect_is_never_followed_with_the_api_key(proxy, acme):
    """urllib copies Authorization onto a redirect, to any host and down to http:// (issue 27):
    the client follows none, and says where it was sent."""
    catcher = FaultProxy("http://127.0.0.1:9").start()  # records what reaches it
    key = api_key_create(tenant=acme.tenant, name="k", scopes=["ingest"]).key
    client = Client(proxy.base, api_key=key, max_retries=0)
    proxy.fail_next((302, {"Location": f"{catcher.base}/v1/events"}, b""))

    with pytest.raises(InvalidRequest) as refused:
        client.send_event({"event_type": "order.paid"})

    assert refused.value.status == 302 and refused.value.code == "redirect_refused"
    assert catcher.base in str(refused.value)
    assert catcher.calls == []  # the key went nowhere
    catcher.stop()
