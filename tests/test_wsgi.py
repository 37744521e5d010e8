"""formbridge.wsgi: the API is served by the lean handler, everything else by the full stack."""

from __future__ import annotations

import io
import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from formbridge.wsgi import application
from ingest.models import Submission
from tests.signing import signed_headers

pytestmark = pytest.mark.django_db


class UnreadableBody(io.BytesIO):
    """A request body that fails the test if anyone reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def call(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    stream: io.BytesIO | None = None,
    content_length: str | None = None,
):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": stream or io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)) if content_length is None else content_length,
        "CONTENT_TYPE": "application/json",
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    captured = {}

    def start_response(status, response_headers):
        captured["status"] = int(status.split()[0])
        captured["headers"] = dict(response_headers)

    # As Django's test client does: keep the test transaction's connection open across the call.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return captured["status"], captured["headers"], content


def test_ingest_through_the_wsgi_entry_point(acme):
    body = json.dumps({"name": "Jane"}).encode()
    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)

    status, response_headers, content = call("POST", "/v1/ingest", body, headers)

    assert status == 202, content
    assert json.loads(content)["status"] == "accepted"
    assert Submission.objects.get().payload == {"name": "Jane"}
    # the admin's cookie middleware did not run for the API
    assert "Set-Cookie" not in response_headers
    assert "X-Frame-Options" not in response_headers


def test_admin_keeps_the_full_middleware_stack(db):
    status, response_headers, _ = call("GET", "/admin/login/")

    assert status == 200
    assert response_headers["X-Frame-Options"] == "DENY"
    assert "csrftoken" in response_headers.get("Set-Cookie", "")


def test_oversized_body_is_refused_before_it_is_read(acme):
    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=b"{}")

    status, _, content = call(
        "POST",
        "/v1/ingest",
        headers=headers,
        stream=UnreadableBody(),
        content_length=str(50 * 1024 * 1024),
    )

    assert status == 413
    assert json.loads(content)["error"]["code"] == "payload_too_large"
    assert Submission.objects.count() == 0


def test_chunked_body_without_content_length(acme):
    body = json.dumps({"name": "Chunked"}).encode()
    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)
    headers["Transfer-Encoding"] = "chunked"

    # the WSGI server has de-chunked the stream and sets no Content-Length
    status, _, content = call("POST", "/v1/ingest", body, headers, content_length="")

    assert status == 202, content
    assert Submission.objects.get().payload == {"name": "Chunked"}


def test_oversized_chunked_body_is_cut_off_at_the_limit(acme):
    from tenants.models import Tenant

    Tenant.objects.filter(pk="t_acme").update(max_payload_bytes=64)
    body = json.dumps({"name": "x" * 500}).encode()
    headers = signed_headers(tenant_id="t_acme", secret=acme.signing_secret, body=body)
    headers["Transfer-Encoding"] = "chunked"

    status, _, content = call("POST", "/v1/ingest", body, headers, content_length="")

    assert status == 413
    assert json.loads(content)["error"]["code"] == "payload_too_large"
    assert Submission.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "host"),
    [("/readyz", "10.0.1.23:8000"), ("/healthz", "127.0.0.1:8000"), ("/readyz", "127.0.0.1:8000")],
)
def test_the_probes_answer_the_host_the_orchestrator_sends(db, settings, path, host):
    # ALLOWED_HOSTS as the AWS bundle sets it: the public domain only. ECS's container check
    # asks 127.0.0.1:8000; the load balancer's target check sends the task's own IP.
    settings.ALLOWED_HOSTS = ["hooks.example.com"]

    status, _, content = call("GET", path, headers={"Host": host})

    assert status == 200, content


def test_any_other_path_still_refuses_a_host_not_allowed(db, settings):
    settings.ALLOWED_HOSTS = ["hooks.example.com"]

    assert call("GET", "/admin/login/", headers={"Host": "10.0.1.23:8000"})[0] == 400
    assert call("GET", "/admin/login/", headers={"Host": "hooks.example.com"})[0] == 200
