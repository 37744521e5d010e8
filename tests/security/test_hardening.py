"""One test per finding of the hostile-tenant review: each failed on the code before its fix.

Every one attacks as a tenant, a receiver or a client would, and asserts what was stored, sent
or refused, and that another tenant's work went on.
"""

from __future__ import annotations

import json

import pytest
import redis
from django.db import connection
from prometheus_client import REGISTRY

from delivery import dispatcher, engine, ssrf
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus, Destination
from ingest.models import Submission
from tenants import services as tenant_services
from tenants.models import SigningSecret, Tenant
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def rest_destination(created, receiver, name="crm", path="/hook", **fields):
    fields.setdefault("config", {"url": receiver.url(path)})
    return delivery_services.destination_create(tenant=created.tenant, name=name, **fields)


def poison_count(stage: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "formbridge_delivery_poison_total", {"stage": stage, "result": result}
    )
    return value or 0.0


# --- 1. a submitted_at outside years 1-9999 in UTC ---


@pytest.mark.parametrize(
    "submitted_at",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ],
)
def test_a_submitted_at_that_leaves_the_storable_years_is_refused(signed, acme, submitted_at):
    response = signed.post(acme, {"payload": {"a": 1}, "submitted_at": submitted_at})

    body = assert_error(response, 400, "invalid_payload")
    assert "submitted_at" in body["error"]["message"]
    assert not Submission.objects.exists() and not Delivery.objects.exists()


def test_one_unreadable_row_is_dead_lettered_and_every_other_tenant_delivers(
    signed, acme, globex, receiver
):
    rest_destination(acme, receiver, path="/acme")
    rest_destination(globex, receiver, path="/globex")
    [poisoned] = signed.submit(acme)
    # A row as the old code stored it: its UTC time is before year 1, which Python cannot read.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ingest_submission SET submitted_at = '0001-01-01 00:00:00+01' "
            "WHERE submission_id = %s",
            [poisoned],
        )
    healthy = signed.submit(globex, 3)
    before = poison_count("claim", "dead")

    dispatcher.drain()

    assert sorted(s.event["payload"]["n"] for s in receiver.at("/globex")) == [0, 1, 2]
    statuses = dict(Delivery.objects.values_list("submission__submission_id", "status"))
    assert all(statuses[i] == DeliveryStatus.SUCCEEDED for i in healthy)
    bad = Delivery.objects.get(submission__submission_id=poisoned)
    assert bad.status == DeliveryStatus.DEAD and bad.last_error.startswith("poison (claim)")
    assert receiver.at("/acme") == []
    assert poison_count("claim", "dead") == before + 1


def test_the_migration_makes_old_unreadable_rows_readable(signed, acme):
    from importlib import import_module

    [sid] = signed.submit(acme)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ingest_submission SET submitted_at = '0001-01-01 00:00:00+01' "
            "WHERE submission_id = %s",
            [sid],
        )
    migration = import_module("ingest.migrations.0005_submitted_at_storable")

    migration.clamp(None, connection.schema_editor())

    submission = Submission.objects.get(submission_id=sid)
    assert submission.submitted_at == submission.received_at


# --- 2. a receiver answering with NUL bytes or invalid UTF-8 ---


def test_a_receiver_answering_nul_and_junk_is_recorded_escaped_with_its_batch(
    signed, acme, globex, receiver
):
    rest_destination(acme, receiver, path="/nul")
    rest_destination(globex, receiver, path="/fine")
    receiver.set("/nul", [(200, {}, b"ok\x00bad\xff\xfe")])
    signed.submit(acme)
    signed.submit(globex)

    dispatcher.drain()

    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
    attempt = DeliveryAttempt.objects.get(tenant_id="t_acme")
    assert attempt.response_body == "ok\\x00bad\\xff\\xfe"
    assert DeliveryAttempt.objects.filter(tenant_id="t_globex", outcome="success").count() == 1


def test_an_attempt_that_cannot_be_stored_still_moves_its_delivery_and_spares_the_batch(
    signed, acme, globex, receiver, monkeypatch
):
    rest_destination(acme, receiver, path="/a")
    rest_destination(globex, receiver, path="/b")
    signed.submit(acme)
    signed.submit(globex)
    real_row = engine.attempt_row

    def row_the_rules_missed(job, outcome):
        row = real_row(job, outcome)
        if job.destination.tenant_id == "t_acme":
            row["response_body"] = "raw\x00nul"  # as if a connector bypassed the safe text
        return row

    monkeypatch.setattr(engine, "attempt_row", row_the_rules_missed)
    before = poison_count("record", "recorded")

    dispatcher.drain()

    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
    acme_attempt = DeliveryAttempt.objects.get(tenant_id="t_acme")
    assert acme_attempt.response_body == "" and "could not be recorded" in acme_attempt.error
    assert DeliveryAttempt.objects.get(tenant_id="t_globex").response_status == 200
    assert poison_count("record", "recorded") == before + 1
    assert not Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT).exists()


# --- 3. a mapping that grows exponentially ---

EXPLODING = "payload" + " | [@,@]" * 30


def test_an_exploding_mapping_is_refused_on_save(acme, api, receiver):
    response = api(acme).post(
        "/v1/destinations",
        {"name": "boom", "url": receiver.url("/boom"), "config": {"mapping": EXPLODING}},
    )

    body = assert_error(response, 400, "invalid_destination")
    assert "sample event" in json.dumps(body)
    assert not Destination.objects.filter(name="boom").exists()


def test_an_exploding_mapping_at_send_time_is_a_permanent_failure_and_others_deliver(
    signed, acme, globex, receiver
):
    boom = rest_destination(acme, receiver, name="boom", path="/boom").destination
    # Stored by an older version that did not bound mappings.
    Destination.objects.filter(pk=boom.pk).update(
        config={"url": receiver.url("/boom"), "mapping": EXPLODING + " | [@][]"}
    )
    rest_destination(globex, receiver, path="/fine")
    signed.submit(acme)
    signed.submit(globex)

    dispatcher.drain()

    dead = Delivery.objects.get(destination=boom)
    assert dead.status == DeliveryStatus.DEAD
    assert "mapping refused" in dead.last_error and "bytes" in dead.last_error
    assert receiver.at("/boom") == [] and len(receiver.at("/fine")) == 1


# --- 4. the replay check and the `sha256=` prefix ---


@pytest.mark.parametrize("respell", ["sha256={}", "SHA256={}", " {} ", "{}"])
def test_a_respelled_signature_is_still_a_replay(client, acme, respell):
    from tests.signing import signed_headers

    body = json.dumps({"payload": {"a": 1}}).encode()
    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)
    first = client.post("/v1/ingest", body, content_type="application/json", headers=headers)
    assert first.status_code == 202

    again = {**headers, "X-Signature": respell.format(headers["X-Signature"].upper())}
    replay = client.post("/v1/ingest", body, content_type="application/json", headers=again)

    assert_error(replay, 409, "replayed_request")
    assert Submission.objects.count() == 1


# --- 5. a lost answer: the 409 says which submission the bytes made ---


def test_the_replay_answer_names_the_submission_the_bytes_made(client, acme):
    from tests.signing import signed_headers

    body = json.dumps({"payload": {"lead": "raw, no submission_id"}}).encode()
    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)
    first = client.post("/v1/ingest", body, content_type="application/json", headers=headers)

    resent = client.post("/v1/ingest", body, content_type="application/json", headers=headers)

    body_409 = assert_error(resent, 409, "replayed_request")
    assert body_409["submission_id"] == first.json()["submission_id"]
    assert first.json()["submission_id"] in body_409["error"]["message"]
    assert Submission.objects.count() == 1


# --- 7. 500s from bad input ---


@pytest.mark.parametrize("timestamp", ["999999999999", "99999999999.5", "0", "-1"])
def test_a_timestamp_python_cannot_hold_is_an_invalid_or_stale_timestamp(client, timestamp):
    response = client.post(
        "/v1/ingest",
        b"{}",
        content_type="application/json",
        headers={"X-Tenant-Id": "t_x", "X-Timestamp": timestamp, "X-Signature": "0" * 64},
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("invalid_timestamp", "stale_timestamp")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/submissions/a%00b",
        "/v1/submissions/a%00b/replay",
        "/v1/destinations/a%00b",
        "/v1/destinations/a%00b/test",
        "/v1/submissions?form_id=a%00b",
        "/admin/ingest/submission/?q=a%00b",
    ],
)
def test_a_nul_in_a_path_or_query_parameter_is_a_clean_4xx(client, acme, api, path):
    key = api(acme).key

    for method in ("get", "post", "patch", "delete"):
        response = getattr(client, method)(path, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code in (400, 404, 405), (method, response.status_code)
        assert response.json()["error"]["code"] in (
            "invalid_request",
            "not_found",
            "method_not_allowed",
        )


def test_path_ids_outside_the_id_alphabet_are_404_not_a_query(acme, api):
    response = api(acme).get("/v1/submissions/" + "x" * 65)

    assert_error(response, 404, "not_found")


# --- 8. destination credentials outside the write-only fields ---


def test_custom_header_values_and_url_tokens_never_reach_attempt_rows(signed, acme, api, receiver):
    token = "tok-9f8e7d6c5b4a"
    query_key = "qk-0123456789ab"
    rest_destination(
        acme,
        receiver,
        config={
            "url": receiver.url("/hook") + f"?key={query_key}&v=1",
            "headers": {"X-Api-Token": token},
        },
        auth_mode="bearer",
        auth_secret="bearer-secret-42",
    )
    # A receiver echoing what it was sent, as some do.
    path = f"/hook?key={query_key}&v=1"
    receiver.set(path, [(500, {"X-Echo": token}, f"bad token {token} key {query_key}".encode())])
    [sid] = signed.submit(acme)

    dispatcher.drain()

    [seen] = receiver.at(path)
    assert seen.headers["X-Api-Token"] == token  # the receiver did get it
    attempt = DeliveryAttempt.objects.get()
    stored = json.dumps(
        [
            attempt.request_url,
            attempt.request_headers,
            attempt.response_headers,
            attempt.response_body,
            attempt.error,
        ]
    )
    for secret in (token, query_key, "bearer-secret-42"):
        assert secret not in stored
    assert attempt.request_headers["X-Api-Token"] == "[redacted]"
    assert "key=%5Bredacted%5D" in attempt.request_url or "key=[redacted]" in attempt.request_url
    read_only = api(acme, scopes=("read",)).get(f"/v1/submissions/{sid}")
    for secret in (token, query_key, "bearer-secret-42"):
        assert secret not in read_only.content.decode()


def test_pointing_a_destination_at_another_host_needs_its_secret_again(acme, api, receiver):
    admin = api(acme, scopes=("admin",))
    rest_destination(
        acme,
        receiver,
        config={"url": receiver.url("/hook"), "headers": {"X-Api-Token": "tok-123456789"}},
        auth_mode="bearer",
        auth_secret="stored-secret-1",
    )
    elsewhere = receiver.url("/hook").replace("127.0.0.1", "localhost")

    refused = admin.patch("/v1/destinations/crm", {"url": elsewhere})

    body = assert_error(refused, 400, "invalid_destination")
    assert "auth_secret" in body["error"]["fields"]
    assert Destination.objects.get().config["url"] == receiver.url("/hook")
    moved = admin.patch("/v1/destinations/crm", {"url": elsewhere, "auth_secret": "new-secret-2"})
    assert moved.status_code == 200, moved.content
    destination = Destination.objects.get()
    assert "headers" not in destination.config or not destination.config["headers"]
    admin.post("/v1/destinations/crm/test")
    [seen] = receiver.at("/hook")
    assert seen.headers["Authorization"] == "Bearer new-secret-2"
    assert "X-Api-Token" not in seen.headers
    same_host = admin.patch("/v1/destinations/crm", {"url": elsewhere + "/other"})
    assert same_host.status_code == 200, same_host.content


# --- 9. a Redis outage on ingest ---


@pytest.fixture
def redis_down(settings, monkeypatch):
    from core import redis_client

    dead = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(redis_client, "get_redis", lambda: dead)
    monkeypatch.setattr("tenants.limits.get_redis", lambda: dead)
    monkeypatch.setattr("core.counters.get_redis", lambda: dead)
    return dead


def test_a_redis_outage_is_a_503_before_anything_is_stored(signed, acme, redis_down):
    Tenant.objects.filter(pk="t_acme").update(rate_limit_per_second=10, daily_quota=100)

    response = signed.post(acme, {"payload": {"a": 1}})

    assert_error(response, 503, "limits_unavailable")
    assert response["Retry-After"] == "5"
    assert not Submission.objects.exists()


def test_a_stored_submission_stays_accepted_when_its_quota_count_fails(signed, acme, monkeypatch):
    Tenant.objects.filter(pk="t_acme").update(daily_quota=100)

    def redis_gone(*args, **kwargs):
        raise redis.ConnectionError("gone after the store")

    monkeypatch.setattr("core.counters.incr", redis_gone)

    response = signed.post(acme, {"payload": {"a": 1}})

    assert response.status_code == 202
    assert Submission.objects.filter(submission_id=response.json()["submission_id"]).exists()


# --- 10. custom header validation ---


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Note": "a\r\nX-Injected: 1"},
        {"X-Note": "line\nbreak"},
        {"Host ": "evil.example"},
        {"Transfer-Encoding ": "chunked"},
        {"X Bad": "1"},
        {"Connection": "close"},
        {"X-Note": " padded"},
        {"x-a": "1", "X-A": "2"},
    ],
)
def test_header_names_and_values_that_are_not_http_are_refused(acme, receiver, headers):
    with pytest.raises(delivery_services.validation.DestinationInvalid) as refused:
        rest_destination(acme, receiver, config={"url": receiver.url("/h"), "headers": headers})

    assert refused.value.field == "config.headers"


@pytest.mark.parametrize(
    "name", ["Content-Type", "Host", "content-length", "X Key", "Authorization"]
)
def test_an_api_key_header_may_not_replace_one_formbridge_sets(acme, receiver, name):
    with pytest.raises(delivery_services.validation.DestinationInvalid) as refused:
        rest_destination(
            acme,
            receiver,
            auth_mode="api_key_header",
            auth_config={"header": name},
            auth_secret="k-123456789",
        )

    assert refused.value.field == "auth_config"


# --- 11. IPv6 forms of loopback and private networks ---


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b:1::a9fe:a9fe]",
        "[2002:7f00:1::]",
        "[::ffff:0:7f00:1]",
        "[::ffff:169.254.169.254]",
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
    ],
)
def test_ipv6_forms_embedding_a_private_ipv4_are_refused(settings, host):
    settings.DELIVERY_ALLOWED_NETWORKS = []

    with pytest.raises(ssrf.UnsafeDestination):
        ssrf.check_url(f"http://{host}/hook")


def test_ipv6_forms_embedding_a_public_ipv4_are_allowed(settings):
    settings.DELIVERY_ALLOWED_NETWORKS = []

    assert str(ssrf.check_url("http://[64:ff9b::808:808]/").address) == "64:ff9b::808:808"


# --- 12. an overlap window Python cannot add ---


@pytest.mark.parametrize("hours", [1e9, float("inf"), float("nan"), 90 * 24 + 1])
def test_an_absurd_overlap_window_is_refused_without_rotating(acme, hours):
    with pytest.raises(tenant_services.CredentialError):
        tenant_services.tenant_rotate_secret(tenant=acme.tenant, overlap_hours=hours)

    assert SigningSecret.objects.filter(tenant_id="t_acme").count() == 1


def test_the_admin_answers_an_absurd_overlap_with_a_message(client, acme, admin_user):
    client.force_login(admin_user)

    response = client.post(
        "/admin/tenants/tenant/t_acme/rotate-secret/", {"overlap_hours": "1e9"}, follow=True
    )

    assert response.status_code == 200
    assert "overlap window must be from 0 to" in response.content.decode()
    assert SigningSecret.objects.filter(tenant_id="t_acme").count() == 1


# --- beyond the findings: a slow receiver holds up only its own deliveries ---


@pytest.mark.django_db(transaction=True)
def test_a_slow_receiver_does_not_hold_up_another_tenants_deliveries(signed, receiver):
    import threading
    import time

    from tests.factories import tenant_with_secret

    slow_tenant, fast_tenant = tenant_with_secret("t_slowpoke"), tenant_with_secret("t_fast")
    rest_destination(slow_tenant, receiver, path="/slow", timeout_seconds=10)
    rest_destination(fast_tenant, receiver, path="/fast")
    receiver.set("/slow", [("slow", 4)])
    signed.submit(slow_tenant)
    [first] = signed.submit(fast_tenant)
    drain = threading.Thread(target=dispatcher.drain, kwargs={"time_budget_seconds": 8})
    drain.start()
    try:
        time.sleep(0.5)
        # The fast tenant's delivery is recorded while the slow one is still in flight...
        assert Delivery.objects.get(submission__submission_id=first).status == "succeeded"
        assert Delivery.objects.get(tenant_id="t_slowpoke").status == DeliveryStatus.IN_FLIGHT
        # ...and its next submission goes out at once, not after the slow batch.
        submitted = time.monotonic()
        [second] = signed.submit(fast_tenant)
        deadline = submitted + 2
        while time.monotonic() < deadline and len(receiver.at("/fast")) < 2:
            time.sleep(0.05)
        assert len(receiver.at("/fast")) == 2, "the fast tenant waited for the slow receiver"
        assert Delivery.objects.get(tenant_id="t_slowpoke").status == DeliveryStatus.IN_FLIGHT
    finally:
        drain.join()
    assert Delivery.objects.get(submission__submission_id=second).status == "succeeded"
    assert Delivery.objects.get(tenant_id="t_slowpoke").status == "succeeded"


def test_one_tenants_throttled_backlog_does_not_crowd_another_out_of_a_claim(
    signed, acme, globex, receiver
):
    from datetime import timedelta

    from django.utils import timezone

    throttled = rest_destination(acme, receiver, path="/throttled", max_concurrency=1)
    rest_destination(globex, receiver, path="/fine")
    signed.submit(acme, 250)
    [theirs] = signed.submit(globex)
    # The backlog is older than the other tenant's row: it comes first in due order.
    Delivery.objects.filter(destination=throttled.destination).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )

    claimed = engine.deliveries_claim(limit=100)

    assert theirs in {c.job.submission_id for c in claimed}
    assert sum(c.job.destination.tenant_id == "t_acme" for c in claimed) == 1


def test_an_admin_viewer_sees_neither_header_values_nor_url_tokens(client, signed, acme, receiver):
    from django.contrib.auth import get_user_model

    from tenants.operators import operator_grant

    token, query_key = "tok-viewer-0a1b2c3d", "qk-viewer-9z8y7x6w"
    destination = rest_destination(
        acme,
        receiver,
        config={"url": receiver.url("/v") + f"?key={query_key}", "headers": {"X-Api-Token": token}},
    ).destination
    receiver.set(f"/v?key={query_key}", [500])
    signed.submit(acme)
    dispatcher.drain()
    viewer = get_user_model().objects.create_user("val", password="val-pass-123")
    operator_grant(user=viewer, tenant=acme.tenant, role="viewer")
    client.force_login(viewer)
    attempt = DeliveryAttempt.objects.get()

    pages = [
        client.get(f"/admin/delivery/destination/{destination.pk}/change/"),
        client.get(f"/admin/delivery/deliveryattempt/{attempt.pk}/change/"),
        client.get(f"/admin/ingest/submission/{attempt.delivery.submission_id}/change/"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert token not in page.content.decode()
    assert "[redacted]" in pages[0].content.decode()
    assert query_key not in pages[1].content.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v1/destinations"),
        ("post", "/v1/forms"),
        ("post", "/v1/sources"),
        ("put", "/v1/event-types/order.paid/schema"),
    ],
)
@pytest.mark.parametrize(
    "body",
    [b"[" * 3000 + b"]" * 3000, b'{"a": ' * 100 + b"1" + b"}" * 100, b"{not json", b"NaN"],
    ids=["3000 deep", "100 deep", "not json", "NaN"],
)
def test_every_drf_endpoint_answers_bad_json_400_invalid_json(
    acme, api, client, method, path, body
):
    """DRF's own parser raised RecursionError (a 500) on a deep body (issue 27); the one bounded
    decoder answers every endpoint alike."""
    key = api(acme, scopes=["admin"]).key

    response = getattr(client, method)(
        path, data=body, content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip

    assert_error(response, 400, "invalid_json")


def test_a_drf_body_over_the_limit_is_413(acme, api, client, settings):
    settings.API_MAX_BODY_BYTES = 1000
    key = api(acme, scopes=["admin"]).key
    response = client.post(
        "/v1/destinations", data=b'{"name": "' + b"x" * 2000 + b'"}',
        content_type="application/json", headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip
    assert_error(response, 413, "payload_too_large")
