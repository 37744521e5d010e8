"""POST /f/<form_key> as browsers and scripts send it: stored and fanned out, or kept as spam and
answered alike, or refused (origin, rates, captcha, files, schema) storing nothing."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.errors import Invalid
from delivery import services as delivery_services
from delivery.models import Delivery
from ingest import services as ingest_services
from ingest.attachments import attachments_storage
from ingest.models import Submission, SubmissionStatus
from reporting.models import DailyMetric
from tests.conftest import assert_error, files_in
from webforms import services

PAGE = "https://www.example.com"
THANKS = "https://www.example.com/thanks"


@pytest.fixture
def form(acme):
    return services.form_create(
        tenant=acme.tenant,
        form_id="contact",
        allowed_origins=[PAGE],
        redirect_url=THANKS,
    )


@pytest.fixture
def destination(acme, receiver):
    return delivery_services.destination_create(
        tenant=acme.tenant, name="crm", url=receiver.url("/hook")
    ).destination


@pytest.fixture(autouse=True)
def files_dir(storage_dir):
    return storage_dir


stored_files = files_in


def post(client: Client, form, fields: dict, *, origin: str | None = PAGE, **headers):
    """As a browser posts the form; REMOTE_ADDR is the peer's address (not a header)."""
    if origin:
        headers["Origin"] = origin
    peer = {"REMOTE_ADDR": headers.pop("REMOTE_ADDR")} if "REMOTE_ADDR" in headers else {}
    return client.post(
        f"/f/{form.form_key}",
        data=urlencode(fields, doseq=True),
        content_type="application/x-www-form-urlencoded",
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", **headers},
        **peer,
    )


def submissions_total(tenant_id: str) -> int:
    return sum(
        DailyMetric.objects.filter(tenant_id=tenant_id).values_list("submissions", flat=True)
    )


def test_a_plain_form_post_is_stored_fanned_out_and_redirected(client, form, destination):
    # When
    response = post(
        client,
        form,
        {"email": "ada@example.com", "topics": ["a", "b"], "_gotcha": "", "_next": ""},
        REMOTE_ADDR="203.0.113.7",
    )

    # Then
    assert response.status_code == 303
    assert response["Location"] == THANKS
    submission = Submission.objects.get()
    assert submission.source == "form"
    assert submission.form_id == "contact"
    assert submission.status == SubmissionStatus.ACCEPTED
    assert submission.payload == {"email": "ada@example.com", "topics": ["a", "b"]}
    assert str(submission.ip) == "203.0.113.7"
    assert Delivery.objects.get().destination == destination
    assert submissions_total("t_acme") == 1


def test_a_script_asking_for_json_gets_json_and_cors(client, form):
    response = post(client, form, {"email": "a@b.co"}, Accept="application/json")

    assert response.status_code == 200
    assert response.json() == {
        "submission_id": Submission.objects.get().submission_id,
        "status": "accepted",
    }
    assert response["Access-Control-Allow-Origin"] == PAGE
    assert "Origin" in response["Vary"]


def test_a_filled_honeypot_is_answered_as_success_and_kept_as_spam(client, form, destination):
    human = post(client, form, {"email": "a@b.co"}, Accept="application/json")
    bot = post(client, form, {"email": "x@spam.co", "_gotcha": "http://spam"})
    bot_json = post(client, form, {"email": "y@spam.co", "_gotcha": "1"}, Accept="application/json")

    assert bot.status_code == 303 and bot["Location"] == THANKS
    assert bot_json.status_code == 200 and set(bot_json.json()) == set(human.json())
    spam = Submission.objects.filter(status=SubmissionStatus.SPAM)
    assert spam.count() == 2
    assert set(spam.values_list("spam_reason", flat=True)) == {"honeypot"}
    assert "_gotcha" not in spam.first().payload
    assert Delivery.objects.count() == 1  # the human's only
    assert submissions_total("t_acme") == 1


def test_released_spam_is_delivered_and_counted(client, form, destination):
    post(client, form, {"email": "x@b.co", "_gotcha": "filled"})
    spam = Submission.objects.get()

    made = ingest_services.submission_release(submission=spam)
    again = ingest_services.submission_release(submission=spam)

    spam.refresh_from_db()
    assert made == 1 and again == 0
    assert spam.status == SubmissionStatus.ACCEPTED and spam.spam_reason == ""
    assert Delivery.objects.get().submission_id == spam.pk
    assert submissions_total("t_acme") == 1


def test_spam_is_left_out_of_the_submissions_list_unless_asked_for(client, form, acme, api):
    post(client, form, {"email": "human@b.co"})
    post(client, form, {"email": "bot@b.co", "_gotcha": "1"})
    reader = api(acme, scopes=["read"])

    listed = reader.get("/v1/submissions").json()["items"]
    spam = reader.get("/v1/submissions", spam="true").json()["items"]

    assert [s["payload"]["email"] for s in listed] == ["human@b.co"]
    assert [(s["payload"]["email"], s["status"]) for s in spam] == [("bot@b.co", "spam")]


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": None},  # no Origin, no Referer
        {"origin": None, "Referer": "https://evil.example/page"},
        {"origin": "null"},
    ],
)
def test_a_post_from_elsewhere_is_403_and_stores_nothing(client, form, headers):
    response = post(client, form, {"email": "a@b.co"}, Accept="application/json", **headers)

    assert_error(response, 403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in response
    assert not Submission.objects.exists()


def test_the_referer_stands_in_for_a_missing_origin(client, form):
    response = post(client, form, {"email": "a@b.co"}, origin=None, Referer=f"{PAGE}/contact")

    assert response.status_code == 303
    assert Submission.objects.count() == 1


def test_a_browser_refused_sees_a_page_that_says_why(client, form):
    response = post(client, form, {"email": "a@b.co"}, origin="https://evil.example")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert b"origin_not_allowed" in response.content


def test_any_origin_may_post_when_none_is_listed(client, acme):
    open_form = services.form_create(tenant=acme.tenant, form_id="open")

    response = post(client, open_form, {"q": "1"}, origin="https://anywhere.example")

    assert response.status_code == 200  # no redirect URL: our own thank-you page
    assert b"Thank you" in response.content


def test_preflight_allows_listed_origins_only(client, form):
    allowed = client.options(
        f"/f/{form.form_key}",
        headers={"Origin": PAGE, "Access-Control-Request-Method": "POST"},
    )
    refused = client.options(f"/f/{form.form_key}", headers={"Origin": "https://evil.example"})

    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == PAGE
    assert allowed["Access-Control-Allow-Methods"] == "POST"
    assert "Content-Type" in allowed["Access-Control-Allow-Headers"]
    assert_error(refused, 403, "origin_not_allowed")


@pytest.mark.parametrize(
    "next_url, expected",
    [
        (f"{PAGE}/thanks-newsletter", f"{PAGE}/thanks-newsletter"),
        ("https://evil.example/phish", THANKS),
        ("//evil.example/phish", THANKS),
        ("javascript:alert(1)", THANKS),
        # Browsers read a backslash as a slash: this is evil.example to them (issue 27).
        ("https://evil.example\\@www.example.com/", THANKS),
        ("https://evil.example%5C@www.example.com/", THANKS),
        (f"{PAGE}\\@evil.example/", THANKS),
        (f"{PAGE}/ok\ttab", THANKS),
        ("https://user:pw@www.example.com/", THANKS),
        # Rebuilt from its parts, never echoed: a default port dropped, a space encoded away.
        ("HTTPS://WWW.EXAMPLE.COM:443/thanks?x=1#top", f"{PAGE}/thanks?x=1#top"),
    ],
)
def test_next_is_followed_only_to_a_trusted_origin(client, form, next_url, expected):
    response = post(client, form, {"email": "a@b.co", "_next": next_url})

    assert response.status_code == 303
    assert response["Location"] == expected
    assert "_next" not in Submission.objects.get().payload


def test_an_unknown_or_disabled_form_is_404(client, form):
    services.form_update(form=form, enabled=False)

    assert_error(post(client, form, {"a": "1"}, Accept="application/json"), 404, "not_found")
    assert client.post("/f/frm_nothere", {"a": "1"}).status_code == 404
    assert not Submission.objects.exists()


def test_the_client_ip_limit_is_per_ip_and_the_ip_from_trusted_proxies_only(client, form, settings):
    services.form_update(form=form, ip_rate_limit_per_minute=2)
    settings.TRUSTED_PROXY_COUNT = 1

    answers = [
        post(client, form, {"n": str(n)}, REMOTE_ADDR="10.0.0.1", **{"X-Forwarded-For": ip})
        for n, ip in enumerate(["198.51.100.1"] * 3 + ["198.51.100.2"])
    ]

    assert [a.status_code for a in answers] == [303, 303, 429, 303]
    assert int(answers[2]["Retry-After"]) <= 60
    assert sorted(str(s.ip) for s in Submission.objects.all()) == [
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.2",
    ]


def test_the_ip_limit_counts_an_ipv6_64_as_one_client(client, form):
    """One host is given a whole /64: rotating through it is one client (issue 27)."""
    services.form_update(form=form, ip_rate_limit_per_minute=2)
    addresses = [f"2001:db8:1:2::{n:x}" for n in range(1, 4)] + ["2001:db8:1:3::1"]

    answers = [post(client, form, {"n": ip}, REMOTE_ADDR=ip) for ip in addresses]

    assert [a.status_code for a in answers] == [303, 303, 429, 303]


def test_a_redirect_url_is_saved_rebuilt_and_a_misleading_one_refused(acme):
    with pytest.raises(Invalid) as refused:
        services.form_create(
            tenant=acme.tenant, form_id="c2", redirect_url="https://evil.example\\@good.example/"
        )
    assert refused.value.field == "redirect_url"
    saved = services.form_create(
        tenant=acme.tenant, form_id="c3", redirect_url="https://Good.Example:443/thanks"
    )
    assert saved.redirect_url == "https://good.example/thanks"


def test_without_trusted_proxies_a_forwarded_header_is_ignored(client, form, settings):
    services.form_update(form=form, ip_rate_limit_per_minute=1)
    settings.TRUSTED_PROXY_COUNT = 0

    first = post(client, form, {"n": "1"}, **{"X-Forwarded-For": "198.51.100.1"})
    spoofed = post(client, form, {"n": "2"}, **{"X-Forwarded-For": "198.51.100.2"})

    assert (first.status_code, spoofed.status_code) == (303, 429)
    assert str(Submission.objects.get().ip) == "127.0.0.1"


def test_the_form_limit_counts_every_client(client, form):
    services.form_update(form=form, rate_limit_per_minute=1, ip_rate_limit_per_minute=0)

    first = post(client, form, {"n": "1"}, REMOTE_ADDR="198.51.100.1")
    second = post(client, form, {"n": "2"}, REMOTE_ADDR="198.51.100.2", Accept="application/json")

    assert first.status_code == 303
    assert_error(second, 429, "rate_limited")


class TestCaptcha:
    @pytest.fixture
    def verifier(self, receiver, settings):
        settings.TURNSTILE_VERIFY_URL = receiver.url("/siteverify")
        return receiver

    @pytest.fixture
    def guarded(self, form, verifier):
        return services.form_update(
            form=form, captcha_provider="turnstile", captcha_secret="turnstile-secret"
        )

    @pytest.mark.parametrize(
        "provider, setting, token_field",
        [
            ("turnstile", "TURNSTILE_VERIFY_URL", "cf-turnstile-response"),
            ("hcaptcha", "HCAPTCHA_VERIFY_URL", "h-captcha-response"),
            ("recaptcha", "RECAPTCHA_VERIFY_URL", "g-recaptcha-response"),
        ],
    )
    def test_a_solved_captcha_is_verified_with_the_secret_token_and_ip(
        self, client, form, receiver, settings, provider, setting, token_field
    ):
        setattr(settings, setting, receiver.url(f"/{provider}/siteverify"))
        receiver.scripts[f"/{provider}/siteverify"] = [(200, {}, b'{"success": true}')]
        guarded = services.form_update(
            form=form, captcha_provider=provider, captcha_secret=f"{provider}-secret"
        )

        response = post(
            client,
            guarded,
            {"email": "a@b.co", token_field: "token-1"},
            REMOTE_ADDR="203.0.113.9",
        )

        assert response.status_code == 303
        [check] = receiver.at(f"/{provider}/siteverify")
        assert parse_qs(check.body.decode()) == {
            "secret": [f"{provider}-secret"],
            "response": ["token-1"],
            "remoteip": ["203.0.113.9"],
        }
        submission = Submission.objects.get()
        assert submission.status == SubmissionStatus.ACCEPTED
        assert token_field not in submission.payload

    def test_a_failed_captcha_is_refused_and_nothing_stored(self, client, guarded, verifier):
        verifier.scripts["/siteverify"] = [
            (200, {}, b'{"success": false, "error-codes": ["invalid-input-response"]}')
        ]

        with_token = post(
            client,
            guarded,
            {"email": "a@b.co", "cf-turnstile-response": "bad"},
            Accept="application/json",
        )
        without_token = post(client, guarded, {"email": "a@b.co"}, Accept="application/json")

        assert_error(with_token, 403, "captcha_failed")
        assert_error(without_token, 403, "captcha_failed")
        assert len(verifier.requests) == 1  # no token: no call
        assert not Submission.objects.exists()

    def test_a_provider_that_cannot_answer_keeps_the_post_as_spam(
        self, client, guarded, verifier, destination
    ):
        verifier.scripts["/siteverify"] = [503]

        response = post(client, guarded, {"email": "a@b.co", "cf-turnstile-response": "t"})

        assert response.status_code == 303
        submission = Submission.objects.get()
        assert (submission.status, submission.spam_reason) == ("spam", "captcha_unverified")
        assert not Delivery.objects.exists()


class TestFiles:
    def upload(self, client, form, files: dict, fields: dict | None = None, **headers):
        return client.post(
            f"/f/{form.form_key}",
            data={**(fields or {"name": "Ada"}), **files},
            headers={"Origin": PAGE, **headers},
        )

    def test_a_file_is_stored_with_its_digest_and_the_row_keeps_the_key(self, client, form):
        content = b"%PDF-1.7 resume" * 1000

        response = self.upload(
            client,
            form,
            {"cv": SimpleUploadedFile("My CV (final).pdf", content, "application/pdf")},
        )

        assert response.status_code == 303, response.content
        submission = Submission.objects.get()
        assert submission.payload == {"name": "Ada"}
        [attachment] = submission.attachments
        assert attachment["field"] == "cv"
        assert attachment["filename"] == "My CV (final).pdf"
        assert attachment["content_type"] == "application/pdf"
        assert attachment["size"] == len(content)
        assert attachment["sha256"] == hashlib.sha256(content).hexdigest()
        assert attachment["key"].startswith(f"t_acme/{submission.submission_id}/0-My_CV_final_")
        with attachments_storage().open(attachment["key"]) as stored:
            assert stored.read() == content

    def test_file_limits_refuse_and_leave_no_file_behind(self, client, form, files_dir):
        services.form_update(
            form=form, max_files=1, max_file_bytes=100, allowed_file_types=["image/*"]
        )
        png = SimpleUploadedFile("a.png", b"\x89PNG" * 10, "image/png")

        too_many = self.upload(
            client,
            form,
            {"a": png, "b": SimpleUploadedFile("b.png", b"x", "image/png")},
            Accept="application/json",
        )
        too_big = self.upload(
            client,
            form,
            {"a": SimpleUploadedFile("a.png", b"x" * 101, "image/png")},
            Accept="application/json",
        )
        wrong_type = self.upload(
            client,
            form,
            {"a": SimpleUploadedFile("a.exe", b"MZ", "application/x-msdownload")},
            Accept="application/json",
        )

        assert_error(too_many, 400, "too_many_files")
        assert_error(too_big, 413, "file_too_large")
        assert_error(wrong_type, 415, "file_type_not_allowed")
        assert not Submission.objects.exists()
        assert stored_files(files_dir) == []

    def test_a_schema_violation_removes_the_stored_files(self, client, form, files_dir):
        services.form_update(form=form, schema={"type": "object", "required": ["email"]})

        response = self.upload(
            client,
            form,
            {"cv": SimpleUploadedFile("cv.txt", b"hello", "text/plain")},
            Accept="application/json",
        )

        body = assert_error(response, 422, "schema_violation")
        assert body["error"]["errors"][0]["pointer"] == "/payload/email"
        assert not Submission.objects.exists()
        assert stored_files(files_dir) == [], "the file outlived its refusal"


def test_a_schema_violation_shows_a_browser_what_to_fix(client, form):
    services.form_update(
        form=form,
        schema={"type": "object", "properties": {"email": {"type": "string", "format": "email"}}},
    )

    response = post(client, form, {"email": "not-an-address"})

    assert response.status_code == 422
    assert b"/payload/email" in response.content
    assert not Submission.objects.exists()


def test_a_redis_outage_refuses_a_post_with_503_and_stores_nothing(client, form, monkeypatch):
    import redis

    dead = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    monkeypatch.setattr("core.counters.get_redis", lambda: dead)

    response = post(client, form, {"email": "a@b.co"}, Accept="application/json")

    assert_error(response, 503, "limits_unavailable")
    assert response["Retry-After"] == "5"
    assert not Submission.objects.exists()


def test_a_refusal_before_the_verdict_is_read_leaves_no_connection_behind(client, form):
    from core.redis_client import get_redis
    from tenants.models import Tenant

    pool = get_redis().connection_pool
    Tenant.objects.filter(pk=form.tenant_id).update(max_payload_bytes=10)

    # Counted, then refused while the body is read: the verdict is never read.
    answers = [post(client, form, {"email": f"{n}@example.com"}) for n in range(5)]

    assert {a.status_code for a in answers} == {413}
    assert len(pool._in_use_connections) == 0
    assert get_redis().ping()
