"""The Python client (clients/python) against a live FormBridge: pytest-django's live server, a
real HTTP server on the test database, with a fault proxy in front where FormBridge must fail."""

from __future__ import annotations

import pytest
from formbridge_client import (
    AsyncClient,
    AuthenticationError,
    Client,
    ConnectionFailed,
    InvalidRequest,
    InvalidResponse,
    ServerError,
    uuid7,
    webhooks,
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


# --- the client as an SDK (issue 29) ---


def test_a_success_that_is_not_json_is_a_typed_retryable_error(proxy, acme):
    """A proxy's HTML page under a 200 used to escape as a raw JSONDecodeError."""
    client = Client(proxy.base, "t_acme", acme.signing_secret, max_retries=0)
    proxy.fail_next((200, {"Content-Type": "text/html"}, b"<html>captive portal</html>"))

    with pytest.raises(InvalidResponse) as caught:
        client.submit(form_id="contact", payload={"n": 1})

    assert caught.value.retryable and caught.value.code == "invalid_response"
    retried = Client(proxy.base, "t_acme", acme.signing_secret, sleep=lambda s: None)
    proxy.fail_next((200, {"Content-Type": "text/html"}, b"<html>captive portal</html>"))
    assert retried.submit(form_id="contact", payload={"n": 2})["status"] == "accepted"


def test_a_hung_server_is_given_up_on_at_the_calls_read_timeout(acme):
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts (the kernel does), never answers
    client = Client(f"http://127.0.0.1:{listener.getsockname()[1]}", "t_acme",
                    acme.signing_secret, timeout=30, connect_timeout=1, max_retries=0)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(ConnectionFailed):
        client.submit(form_id="contact", payload={"n": 1}, timeout=0.5)
    assert time.monotonic() - started < 2.0
    listener.close()


def test_errors_carry_the_request_id_and_schema_errors(live_server, acme):
    from ingest.services import payload_schema_set

    payload_schema_set(tenant=acme.tenant, subject_kind="form", subject="contact",
                       schema={"type": "object", "required": ["email"]})  # fmt: skip
    client = Client(live_server.url, "t_acme", acme.signing_secret)

    with pytest.raises(InvalidRequest) as caught:
        client.submit(form_id="contact", payload={"name": "no email"})

    assert caught.value.status == 422 and caught.value.code == "schema_violation"
    assert caught.value.errors[0]["pointer"] == "/payload/email"
    assert caught.value.request_id


def test_verify_checks_the_credentials_and_stores_nothing(live_server, acme):
    assert Client(live_server.url, "t_acme", acme.signing_secret).verify()["status"] == "ok"
    with pytest.raises(AuthenticationError) as wrong:
        Client(live_server.url, "t_acme", "fbs_" + "x" * 43).verify()
    assert wrong.value.code == "invalid_signature"
    assert not Submission.objects.exists()


def test_the_management_api_and_the_submissions_iterator(live_server, acme):
    key = api_key_create(tenant=acme.tenant, name="ops", scopes=["admin", "read", "ingest"]).key
    client = Client(live_server.url, "t_acme", acme.signing_secret, api_key=key)
    for n in range(5):
        client.submit(form_id="contact", payload={"n": n})

    created = client.create_destination(name="crm", url="https://93.184.216.34/hook")
    names = {d["name"] for d in client.list_destinations()}
    seen = [s["payload"]["n"] for s in client.iter_submissions(limit=2)]
    client.update_destination("crm", max_attempts=3)

    assert created["name"] == "crm" and "crm" in names
    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert client.get_destination("crm")["max_attempts"] == 3


def test_the_async_client_has_the_same_surface(live_server, acme):
    import asyncio

    key = api_key_create(tenant=acme.tenant, name="app", scopes=["ingest", "read"]).key

    async def use() -> tuple:
        client = AsyncClient(live_server.url, "t_acme", acme.signing_secret, api_key=key)
        sent = await client.submit(form_id="contact", payload={"n": 1})
        event = await client.send_event({"event_type": "order.paid"})
        listed = [s async for s in client.iter_submissions()]
        return sent, event, listed

    sent, event, listed = asyncio.run(use())

    assert sent["status"] == "accepted" and event["status"] == "accepted"
    assert {s["submission_id"] for s in listed} == {sent["submission_id"], event["event_id"]}


def test_webhooks_verify_takes_what_the_standard_webhooks_library_signs():
    import base64
    import json
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook

    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    body = json.dumps({"submission_id": "s-1", "payload": {"a": 1}})
    now = datetime.now(UTC)
    headers = {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(int(now.timestamp())),
               "Webhook-Signature": Webhook(secret).sign("msg_1", now, body)}  # fmt: skip

    assert webhooks.verify(secret, headers, body.encode())["submission_id"] == "s-1"
    with pytest.raises(webhooks.WebhookInvalid):
        webhooks.verify(secret, headers, body.replace("1", "2").encode())
    with pytest.raises(webhooks.WebhookInvalid):
        webhooks.verify(secret, headers, body, now=now.timestamp() + 3600)
