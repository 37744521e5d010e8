"""Standard Webhooks signatures, and the SSRF guard."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import socket

import pytest

from delivery import signing, ssrf


def test_signature_matches_the_standard_webhooks_algorithm():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'

    signature = signing.sign(
        secret, message_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body=body
    )

    # The published Standard Webhooks test vector.
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_generated_secret_verifies_its_own_signature():
    secret = signing.generate_secret()
    body = b"{}"

    signature = signing.sign(secret, message_id="msg_1", timestamp=1, body=body)

    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_1.1." + body, hashlib.sha256).digest())
    assert signing.is_valid_secret(secret)
    assert signature == "v1," + expected.decode()


@pytest.mark.parametrize("secret", ["whsec_", "whsec_!!!", "nope", "whsec_" + "QQ" * 4])
def test_invalid_secrets(secret):
    assert not signing.is_valid_secret(secret)


@pytest.fixture
def no_allow_list(settings):
    settings.DELIVERY_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://224.0.0.1/",
    ],
)
def test_private_and_reserved_targets_are_refused(no_allow_list, url):
    with pytest.raises(ssrf.UnsafeDestination, match="private or reserved"):
        ssrf.check_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "http:// or https://"),
        ("http:///path", "no host"),
        ("https://user:pw@example.com/", "credentials"),
        ("http://example.com:99999/", "invalid URL"),
    ],
)
def test_malformed_urls(no_allow_list, url, message):
    with pytest.raises(ssrf.UnsafeDestination, match=message):
        ssrf.check_url(url)


def test_public_address_is_pinned(no_allow_list, monkeypatch):
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 443))]
    )

    target = ssrf.check_url("https://example.com/hook")

    assert target.address == ipaddress.ip_address("93.184.215.14")
    assert (target.host, target.port, target.netloc) == ("example.com", 443, "example.com")


def test_one_private_answer_among_public_ones_refuses(no_allow_list, monkeypatch):
    answers = [(2, 1, 6, "", ("93.184.215.14", 80)), (2, 1, 6, "", ("10.0.0.5", 80))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)

    with pytest.raises(ssrf.UnsafeDestination, match=r"10\.0\.0\.5"):
        ssrf.check_url("http://rebind.example/")


def test_allow_list_opens_a_network(settings):
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    assert str(ssrf.check_url("http://127.0.0.1:9/").address) == "127.0.0.1"
    with pytest.raises(ssrf.UnsafeDestination):
        ssrf.check_url("http://10.0.0.1/")
