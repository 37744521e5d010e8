"""POST /v1/ingest: the signed-ingest HMAC contract, byte-exact, and every rejection the README
lists."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import time_machine

from ingest.models import Submission
from tenants.models import Tenant
from tests.conftest import assert_error
from tests.signing import php_gmdate_c, sign

pytestmark = pytest.mark.django_db

FORM = {"name": "Jane", "email": "jane@example.com", "message": "Hello!"}


def error_code(response) -> str:
    return response.json()["error"]["code"]


def assert_rejected(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert Submission.objects.count() == 0


# --- accepted ---


def test_raw_payload_is_stored_as_the_canonical_event(acme, signed):
    raw = json.dumps(FORM).encode()

    response = signed.post(acme, raw, **{"X-Form-Id": "contact_us"})

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "accepted"
    assert body["deliveries"] == 0
    assert UUID(body["submission_id"]).version == 7
    row = Submission.objects.get()
    assert row.tenant_id == "t_acme"
    assert row.submission_id == body["submission_id"]
    assert row.payload == FORM
    assert row.form_id == "contact_us"
    assert row.source == "ingest"
    assert row.schema_version == "1.0"
    assert row.ip == "127.0.0.1"
    assert row.payload_bytes == len(raw)
    assert row.payload_sha256 == hashlib.sha256(raw).hexdigest()
    assert row.submitted_at == row.received_at
    assert body["received_at"] == row.received_at.isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def test_envelope_fields_describe_the_submission(acme, signed):
    envelope = {
        "submission_id": "01J7R3S8B2JD2VEXAMPLE",
        "form_id": "newsletter",
        "source": "wordpress",
        "event_type": "form.submitted",
        "submitted_at": "2025-08-25T18:00:00Z",
        "payload": FORM,
        "attachments": [{"url": "s3://bucket/cv.pdf"}],
        "destinations": ["crm", "sheet"],
    }

    response = signed.post(acme, envelope, **{"X-Form-Id": "ignored", "X-Source": "ignored"})

    assert response.status_code == 202
    assert response.json()["submission_id"] == "01J7R3S8B2JD2VEXAMPLE"
    row = Submission.objects.get()
    assert row.payload == FORM
    assert (row.form_id, row.source, row.event_type) == (
        "newsletter",
        "wordpress",
        "form.submitted",
    )
    assert row.submitted_at == datetime(2025, 8, 25, 18, tzinfo=UTC)
    assert row.attachments == [{"url": "s3://bucket/cv.pdf"}]
    assert row.requested_destinations == ["crm", "sheet"]


def test_headers_describe_a_raw_payload(acme, signed):
    response = signed.post(acme, {"event_type": "lead.created", "x": 1}, **{"X-Source": "django"})

    assert response.status_code == 202
    row = Submission.objects.get()
    assert (row.source, row.event_type, row.form_id) == ("django", "lead.created", "")
    assert row.payload == {"event_type": "lead.created", "x": 1}


def test_a_payload_field_that_is_not_an_object_is_just_data(acme, signed):
    response = signed.post(acme, {"payload": "text", "submission_id": "not-an-envelope"})

    assert response.status_code == 202
    row = Submission.objects.get()
    assert row.payload == {"payload": "text", "submission_id": "not-an-envelope"}
    assert row.submission_id != "not-an-envelope"


def test_form_urlencoded_body(acme, signed):
    body = "name=Jane+Doe&email=jane%40example.com&topics=a&topics=b&empty="

    response = signed.post(acme, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 202
    assert Submission.objects.get().payload == {
        "name": "Jane Doe",
        "email": "jane@example.com",
        "topics": ["a", "b"],
        "empty": "",
    }


def test_signature_covers_the_raw_bytes_exactly(acme, signed):
    raw = b'{ "name" : "Jane",\n  "b": 2 }\n'

    response = signed.post(acme, raw)

    assert response.status_code == 202
    assert Submission.objects.get().payload_sha256 == hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize(
    "render",
    [
        pytest.param(lambda now: now.strftime("%Y-%m-%dT%H:%M:%SZ"), id="iso-z"),
        pytest.param(lambda now: now.strftime("%Y-%m-%dT%H:%M:%S+00:00"), id="php-gmdate-c"),
        pytest.param(
            lambda now: (
                now.astimezone(UTC)
                .replace(tzinfo=None)
                .__add__(timedelta(hours=2))
                .strftime("%Y-%m-%dT%H:%M:%S+02:00")
            ),
            id="iso-offset",
        ),
        pytest.param(lambda now: now.isoformat(timespec="milliseconds"), id="iso-millis"),
        pytest.param(lambda now: str(int(now.timestamp())), id="unix-seconds"),
    ],
)
def test_timestamp_formats(acme, signed, render):
    timestamp = render(datetime.now(UTC))

    response = signed.post(acme, FORM, timestamp=timestamp)

    assert response.status_code == 202, response.content
    assert Submission.objects.count() == 1


def test_uppercase_hex_signature_is_accepted(acme, client):
    raw = json.dumps(FORM).encode()
    ts = php_gmdate_c()
    headers = {"X-Tenant-Id": "t_acme", "X-Timestamp": ts}
    headers["X-Signature"] = sign(acme.signing_secret, ts, raw).upper()

    response = client.post("/v1/ingest", raw, content_type="application/json", headers=headers)

    assert response.status_code == 202


def test_repeated_submission_id_is_a_duplicate_with_one_row(acme, signed):
    envelope = {"submission_id": "sub-1", "payload": FORM}
    first = signed.post(acme, envelope)

    second = signed.post(acme, envelope)

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json() == {
        "submission_id": "sub-1",
        "status": "duplicate",
        "received_at": first.json()["received_at"],
        "deliveries": 0,
    }
    assert Submission.objects.get().payload == FORM


def test_a_submission_id_reused_for_another_payload_is_a_conflict(acme, signed):
    """Never a silent duplicate: the second lead would be lost (a WordPress entry id reused
    after its table was emptied made exactly this)."""
    signed.post(acme, {"submission_id": "sub-1", "payload": FORM})

    again = signed.post(acme, {"submission_id": "sub-1", "payload": {"changed": True}})

    body = assert_error(again, 409, "submission_conflict")
    assert body["submission_id"] == "sub-1"
    assert Submission.objects.get().payload == FORM


def test_identical_bytes_naming_a_stored_id_are_a_duplicate_not_a_replay(acme, signed):
    """A client retrying within the same second re-signs identical bytes (one-second
    timestamps): the lead is stored, so the answer is 200 duplicate, not 409."""
    body = {"submission_id": "sub-1", "payload": FORM}

    with time_machine.travel(datetime.fromtimestamp(1796000000, UTC), tick=False):
        first = signed.post(acme, body, timestamp="1796000000")
        retried = signed.post(acme, body, timestamp="1796000000")
        anonymous = signed.post(acme, {"payload": FORM}, timestamp="1796000000")
        replayed = signed.post(acme, {"payload": FORM}, timestamp="1796000000")

    assert first.status_code == 202
    assert (retried.status_code, retried.json()["status"]) == (200, "duplicate")
    # Bytes that name no id are still a replay the second time.
    assert anonymous.status_code == 202
    assert_error(replayed, 409, "replayed_request")
    assert Submission.objects.count() == 2


def test_same_submission_id_in_two_tenants_is_two_submissions(acme, globex, signed):
    envelope = {"submission_id": "shared-id", "payload": FORM}

    assert signed.post(acme, envelope).status_code == 202
    assert signed.post(globex, envelope).status_code == 202

    assert sorted(Submission.objects.values_list("tenant_id", flat=True)) == ["t_acme", "t_globex"]


# --- rejected: authentication ---


@pytest.mark.parametrize("header", ["X-Tenant-Id", "X-Timestamp", "X-Signature"])
def test_missing_signature_header(acme, client, header):
    raw = json.dumps(FORM).encode()
    ts = php_gmdate_c()
    headers = {"X-Tenant-Id": "t_acme", "X-Timestamp": ts, "X-Signature": sign("x", ts, raw)}
    del headers[header]

    response = client.post("/v1/ingest", raw, content_type="application/json", headers=headers)

    assert_rejected(response, 401, "missing_signature_headers")
    assert header in response.json()["error"]["message"]


@pytest.mark.parametrize("skew", [301, -301, 3600], ids=["past", "future", "hour-old"])
def test_timestamp_outside_the_window_is_stale(acme, signed, skew):
    # Frozen: with a live clock, a second's truncation plus a slow request could bring 301 s
    # ahead back inside the window.
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        timestamp = php_gmdate_c(now - timedelta(seconds=skew))

        assert_rejected(signed.post(acme, FORM, timestamp=timestamp), 401, "stale_timestamp")


def test_timestamp_just_inside_the_window_is_accepted(acme, signed):
    with time_machine.travel(datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC), tick=False):
        inside = php_gmdate_c(datetime(2026, 1, 1, 11, 55, 0, tzinfo=UTC))  # exactly 300 s
        outside = php_gmdate_c(datetime(2026, 1, 1, 11, 54, 59, tzinfo=UTC))
        assert signed.post(acme, FORM, timestamp=inside).status_code == 202
        assert error_code(signed.post(acme, FORM, timestamp=outside)) == "stale_timestamp"


@pytest.mark.parametrize(
    "timestamp", ["yesterday", "2025-08-25T18:00:00", "2025-13-45T99:00:00Z", "12abc", ""]
)
def test_unparseable_timestamp(acme, signed, client, timestamp):
    if not timestamp:  # an empty header counts as missing
        raw = b"{}"
        headers = {"X-Tenant-Id": "t_acme", "X-Timestamp": "", "X-Signature": "ab" * 32}
        response = client.post("/v1/ingest", raw, content_type="application/json", headers=headers)
        assert_rejected(response, 401, "missing_signature_headers")
        return
    assert_rejected(signed.post(acme, FORM, timestamp=timestamp), 401, "invalid_timestamp")


def test_bad_signature(acme, signed):
    response = signed.post(acme, FORM, secret="fbs_not-the-right-secret-at-all")

    assert_rejected(response, 401, "invalid_signature")


def test_signature_over_a_different_body(acme, client):
    ts = php_gmdate_c()
    headers = {
        "X-Tenant-Id": "t_acme",
        "X-Timestamp": ts,
        "X-Signature": sign(acme.signing_secret, ts, b'{"amount": 1}'),
    }

    response = client.post(
        "/v1/ingest", b'{"amount": 1000}', content_type="application/json", headers=headers
    )

    assert_rejected(response, 401, "invalid_signature")


def test_signature_with_another_tenants_secret(acme, globex, signed):
    response = signed.post(acme, FORM, secret=globex.signing_secret)

    assert_rejected(response, 401, "invalid_signature")


def test_garbage_signature(acme, signed, client):
    ts = php_gmdate_c()
    headers = {"X-Tenant-Id": "t_acme", "X-Timestamp": ts, "X-Signature": "zz-not-hex"}

    response = client.post("/v1/ingest", b"{}", content_type="application/json", headers=headers)

    assert_rejected(response, 401, "invalid_signature")


def test_unknown_tenant_is_answered_exactly_like_a_bad_signature(acme, signed):
    bad_signature = signed.post(acme, FORM, secret="fbs_wrong-secret-for-this-one")
    unknown_tenant = signed.post(acme, FORM, tenant_id="t_nobody")
    absurd_tenant = signed.post(acme, FORM, tenant_id="t_" + "x" * 500)

    assert_rejected(unknown_tenant, 401, "invalid_signature")
    assert unknown_tenant.json() == bad_signature.json() == absurd_tenant.json()


def test_disabled_tenant(acme, signed):
    Tenant.objects.filter(pk="t_acme").update(is_active=False)

    assert_rejected(signed.post(acme, FORM), 403, "tenant_disabled")


# --- rejected: body ---


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"a": 1', b"", b"   ", b"\xff\xfe{}", b'{"a": NaN}', b'{"a": Infinity}'],
    ids=["garbage", "truncated", "empty", "blank", "bad-utf8", "nan", "infinity"],
)
def test_invalid_json(acme, signed, raw):
    assert_rejected(signed.post(acme, raw), 400, "invalid_json")


@pytest.mark.parametrize(
    "raw",
    [b"[1, 2]", b'"text"', b"42", b"null", b"true"],
    ids=["array", "string", "number", "null", "bool"],
)
def test_json_that_is_not_an_object(acme, signed, raw):
    response = signed.post(acme, raw)

    assert_rejected(response, 400, "invalid_payload")
    assert "JSON object" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "nul \\u0000 inside"}',
        b'{"key\\u0000": 1}',
        b'{"a": "lone \\ud800 surrogate"}',
        b'{"a": "\\udc00"}',
    ],
    ids=["nul-value", "nul-key", "high-surrogate", "low-surrogate"],
)
def test_text_postgres_cannot_store_is_refused(acme, signed, raw):
    assert_rejected(signed.post(acme, raw), 400, "invalid_payload")


def test_valid_surrogate_pairs_and_unicode_are_kept(acme, signed):
    response = signed.post(acme, b'{"emoji": "\\ud83d\\ude00", "name": "Jan\\u00e9"}')

    assert response.status_code == 202
    assert Submission.objects.get().payload == {"emoji": "😀", "name": "Jané"}


def test_overflowing_float_is_invalid_json(acme, signed):
    assert_rejected(signed.post(acme, b'{"a": 1e400}'), 400, "invalid_json")


def test_huge_integer_is_refused_cleanly(acme, signed):
    assert_rejected(signed.post(acme, b'{"a": ' + b"9" * 5000 + b"}"), 400, "invalid_json")


def test_deep_nesting_is_refused(acme, signed):
    nested = b'{"a": ' * 65 + b"1" + b"}" * 65
    very_deep = b"[" * 100_000 + b"]" * 100_000

    assert_rejected(signed.post(acme, nested), 400, "invalid_payload")
    assert_rejected(signed.post(acme, b'{"x": ' + very_deep + b"}"), 400, "invalid_json")


def test_nesting_within_the_limit_is_kept(acme, signed):
    nested = b'{"a": ' * 60 + b"1" + b"}" * 60

    assert signed.post(acme, nested).status_code == 202


@pytest.mark.parametrize(
    ("envelope", "field"),
    [
        ({"submission_id": "has spaces", "payload": {}}, "submission_id"),
        ({"submission_id": 42, "payload": {}}, "submission_id"),
        ({"submission_id": "x" * 65, "payload": {}}, "submission_id"),
        ({"submitted_at": "last tuesday", "payload": {}}, "submitted_at"),
        ({"submitted_at": "2025-08-25T18:00:00", "payload": {}}, "submitted_at"),
        ({"destinations": "crm", "payload": {}}, "destinations"),
        ({"destinations": [1, 2], "payload": {}}, "destinations"),
        ({"form_id": ["x"], "payload": {}}, "form_id"),
        ({"form_id": "f" * 129, "payload": {}}, "form_id"),
        ({"source": "a\nb", "payload": {}}, "source"),
        ({"attachments": "cv.pdf", "payload": {}}, "attachments"),
    ],
)
def test_invalid_envelope_field(acme, signed, envelope, field):
    response = signed.post(acme, envelope)

    assert_rejected(response, 400, "invalid_payload")
    assert field in response.json()["error"]["message"]


def test_invalid_form_id_header(acme, signed):
    response = signed.post(acme, FORM, **{"X-Form-Id": "f" * 200})

    assert_rejected(response, 400, "invalid_payload")
    assert "X-Form-Id" in response.json()["error"]["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_unsupported_media_type(acme, signed, content_type):
    assert_rejected(
        signed.post(acme, FORM, content_type=content_type), 415, "unsupported_media_type"
    )


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.acme+json"]
)
def test_json_media_type_variants(acme, signed, content_type):
    assert signed.post(acme, FORM, content_type=content_type).status_code == 202


def test_form_body_with_bad_utf8_or_nul(acme, signed):
    form = "application/x-www-form-urlencoded"
    assert_rejected(signed.post(acme, b"name=%FF%FE", content_type=form), 400, "invalid_payload")
    assert_rejected(signed.post(acme, b"name=a%00b", content_type=form), 400, "invalid_payload")


def test_body_over_the_default_limit(acme, signed):
    raw = b'{"a": "' + b"x" * (1024 * 1024) + b'"}'

    response = signed.post(acme, raw)

    assert_rejected(response, 413, "payload_too_large")


def test_body_over_a_tenant_limit(signed):
    from tests.factories import tenant_with_secret

    small = tenant_with_secret("t_small", max_payload_bytes=1024)

    assert_rejected(signed.post(small, {"a": "x" * 2000}), 413, "payload_too_large")
    assert signed.post(small, {"a": "x" * 900}).status_code == 202


def test_get_is_not_allowed(client):
    response = client.get("/v1/ingest")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "POST"


# --- rate limits and quotas ---


def test_rate_limit_per_second(signed):
    from tests.factories import tenant_with_secret

    limited = tenant_with_secret("t_limited", rate_limit_per_second=2)
    with time_machine.travel(datetime.now(UTC), tick=False):
        statuses = [signed.post(limited, {"n": n}).status_code for n in range(2)]
        third = signed.post(limited, {"n": 3})

    assert statuses == [202, 202]
    assert third.status_code == 429
    assert error_code(third) == "rate_limited"
    assert third["Retry-After"] == "1"
    assert Submission.objects.count() == 2


def test_daily_quota_counts_accepted_submissions(signed):
    from tests.factories import tenant_with_secret

    quota = tenant_with_secret("t_quota", daily_quota=2)
    with time_machine.travel(datetime(2026, 3, 1, 23, 0, 0, tzinfo=UTC), tick=False):
        assert signed.post(quota, {"submission_id": "a", "payload": {}}).status_code == 202
        # a duplicate is not a new submission and does not use the quota
        assert signed.post(quota, {"submission_id": "a", "payload": {}}).status_code == 200
        assert signed.post(quota, {"n": 2}).status_code == 202
        refused = signed.post(quota, {"n": 3})
    with time_machine.travel(datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC), tick=False):
        next_day = signed.post(quota, {"n": 4})

    assert refused.status_code == 429
    assert error_code(refused) == "quota_exceeded"
    assert refused["Retry-After"] == "3600"
    assert next_day.status_code == 202
    assert Submission.objects.count() == 3


def test_limits_without_redis_use_process_memory(signed, settings):
    from core.redis_client import get_redis
    from tests.factories import tenant_with_secret

    settings.REDIS_URL = ""
    get_redis.cache_clear()
    try:
        limited = tenant_with_secret("t_memlimit", rate_limit_per_second=1)
        with time_machine.travel(datetime(2026, 5, 5, tzinfo=UTC), tick=False):
            first = signed.post(limited, {"n": 1})
            second = signed.post(limited, {"n": 2})
    finally:
        get_redis.cache_clear()

    assert first.status_code == 202
    assert error_code(second) == "rate_limited"


# --- POST /v1/verify: signed like an ingest, stored never ---


def test_verify_answers_a_signed_request_and_stores_nothing(acme, signed):
    answer = signed.post(acme, {"payload": {"ping": 1}}, path="/v1/verify")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["tenant_id"], body["status"]) == ("t_acme", "ok")
    assert abs(datetime.fromisoformat(body["server_time"]) - datetime.now(UTC)) < timedelta(
        seconds=5
    )
    assert Submission.objects.count() == 0
    # The same signed bytes verify again: nothing was remembered either.
    assert signed.post(acme, {"payload": {"ping": 1}}, path="/v1/verify").status_code == 200


def test_verify_refuses_as_ingest_does_and_a_stale_clock_learns_the_servers_time(acme, signed):
    wrong = signed.post(acme, {"payload": {}}, path="/v1/verify", secret="fbs_" + "x" * 43)
    skewed = signed.post(acme, {"payload": {}}, path="/v1/verify", timestamp="1700000000")

    assert_error(wrong, 401, "invalid_signature")
    body = assert_error(skewed, 401, "stale_timestamp")
    assert abs(datetime.fromisoformat(body["server_time"]) - datetime.now(UTC)) < timedelta(
        seconds=5
    )
