from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from django.test import Client

from core.counters import memory_forget
from core.redis_client import get_redis
from delivery.routes import forget_routes
from ingest import schemas
from tenants import credentials_cache
from tests.factories import tenant_with_secret
from tests.signing import encode, signed_headers
from webforms import lookup as form_lookup


def pytest_report_header(config):
    from django.conf import settings

    database = settings.DATABASES["default"]
    redis = settings.REDIS_URL or "none (in-process counters)"
    return f"database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}; redis: {redis}"


def pytest_terminal_summary(terminalreporter):
    """The IAM coverage table, when IAM tests ran (tests/deploy/iam.py)."""
    from tests.deploy.iam import coverage_report

    for line in coverage_report():
        terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _clean_shared_state():
    """Rate and quota counters, and cached tenant credentials, must not leak between tests."""
    client = get_redis()
    if client is not None:
        client.flushdb()
    memory_forget()
    credentials_cache.forget()
    forget_routes()
    schemas.forget()
    form_lookup.forget()
    yield


@pytest.fixture(scope="session")
def moto_server():
    """moto's AWS server on loopback (real HTTP for real boto3), one per test session; tests
    that use it reset its state first."""
    from moto.server import ThreadedMotoServer

    import tests.moto_secrets_cfn  # noqa: F401 (teaches moto's CloudFormation about secrets)
    from tests.faults.stack import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def acme(db):
    return tenant_with_secret("t_acme")


@pytest.fixture
def globex(db):
    return tenant_with_secret("t_globex")


class SignedClient:
    """POSTs to /v1/ingest, signed with a tenant's secret unless told otherwise."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._sent = 0

    def _fresh_timestamp(self) -> str:
        self._sent += 1  # distinct even while a test freezes the clock
        return f"{time.time() + self._sent / 1_000_000:.6f}"

    def post(
        self,
        created,
        body,
        *,
        content_type: str = "application/json",
        timestamp: str | None = None,
        secret: str | None = None,
        tenant_id: str | None = None,
        path: str = "/v1/ingest",
        **headers: str,
    ):
        raw = encode(body)
        signed = signed_headers(
            tenant_id=tenant_id or created.tenant.id,
            secret=secret or created.signing_secret,
            body=raw,
            # Unix seconds with a fraction: every call is a distinct signed request, as a client
            # sending twice would make (a byte-identical resend is refused as a replay).
            timestamp=timestamp or self._fresh_timestamp(),
        )
        return self.client.post(
            path, data=raw, content_type=content_type, headers={**signed, **headers}
        )

    def submit(self, created, n: int = 1, *, payload: dict | None = None, **envelope) -> list[str]:
        """Post n accepted envelopes (payload {"n": i, **payload}); returns their submission ids."""
        ids = []
        for i in range(n):
            response = self.post(created, {"payload": {"n": i, **(payload or {})}, **envelope})
            assert response.status_code == 202, response.content
            ids.append(response.json()["submission_id"])
        return ids


@pytest.fixture
def signed(client) -> SignedClient:
    return SignedClient(client)


@pytest.fixture
def receiver():
    """A real local HTTP receiver whose answers a test scripts (tests/e2e/stack.py)."""
    from tests.e2e.stack import Receiver

    server = Receiver().start()
    yield server
    server.stop()


class ApiClient:
    """The JSON API as a client calls it: a bearer key, JSON in and out."""

    def __init__(self, client: Client, key: str) -> None:
        self.client, self.key = client, key

    def call(self, method: str, path: str, body=None, **params):
        kwargs = {"headers": {"Authorization": f"Bearer {self.key}"}}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        if params:
            path += "?" + urlencode(params, doseq=True)
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path: str, **params):
        return self.call("get", path, **params)

    def post(self, path: str, body=None):
        return self.call("post", path, body if body is not None else {})

    def patch(self, path: str, body):
        return self.call("patch", path, body)

    def delete(self, path: str):
        return self.call("delete", path)


@pytest.fixture
def api(client):
    """api(tenant_with_secret, scopes=[...]) -> an ApiClient holding a fresh key of that tenant."""
    from tenants.services import api_key_create

    def make(created, scopes=("ingest", "read", "inbox", "admin")) -> ApiClient:
        key = api_key_create(tenant=created.tenant, name="test", scopes=list(scopes)).key
        return ApiClient(client, key)

    return make


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code, body
    return body


@pytest.fixture
def storage_dir(settings, tmp_path):
    """The attachments storage in a folder of this test's own; returns the folder."""
    folder = tmp_path / "objects"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder


def files_in(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
