"""Connectors through the real engine: a signed submission, a drain, the rows it leaves; the far
end is moto's AWS server (behind a fault-injecting proxy), aiosmtpd, or a local vendor stub."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import boto3
import httpx
import pytest

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.connectors import aws
from delivery.connectors.registry import connector_for
from delivery.mirror import writer
from delivery.models import Delivery, DeliveryAttempt
from tests.vendors import FaultProxy

REGION = "us-east-1"
LEAD = {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe", "company": "Acme"}


@dataclass
class AwsStack:
    moto: str
    proxy: FaultProxy

    def client(self, service: str):
        """A client straight to moto (the test's own view, past the fault proxy)."""
        return boto3.client(service, endpoint_url=self.moto, region_name=REGION)


@pytest.fixture
def aws_stack(moto_server, monkeypatch):
    httpx.post(f"{moto_server}/moto-api/reset")
    proxy = FaultProxy(moto_server).start()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # boto3's own setting: FormBridge's clients reach "AWS" through it with no code change.
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.base)
    aws.forget_clients()
    writer.forget_shard_counts()
    yield AwsStack(moto=moto_server, proxy=proxy)
    proxy.stop()
    aws.forget_clients()


@pytest.fixture
def secrets(aws_stack):
    """moto's Secrets Manager, with FormBridge's cache of resolved references empty around."""
    from core import secret_refs

    secret_refs.forget()
    client = aws_stack.client("secretsmanager")
    yield client
    secret_refs.forget()


@pytest.fixture
def destination(acme):
    # These tests are of the connectors: the tenant may use any AWS target (the binding of
    # targets to their tenant has its own tests, tests/security/test_tenant_bound_targets.py).
    acme.tenant.target_grants = ["arn:aws:*"]
    acme.tenant.save()

    def make(kind: str, config: dict, *, name: str = "out", **fields):
        fields.setdefault("retry_schedule", [0, 0])
        fields.setdefault("max_concurrency", 0)  # a claim takes every due delivery
        return delivery_services.destination_create(
            tenant=acme.tenant, name=name, kind=kind, config=config, **fields
        ).destination

    return make


@pytest.fixture
def deliver(signed, acme):
    """Submit `n` leads and drain: every delivery settles (retries are due at once)."""

    def run(n: int = 1, payload: dict | None = None, **envelope) -> list[Delivery]:
        signed.submit(acme, n, payload=payload or dict(LEAD), **envelope)
        dispatcher.drain(time_budget_seconds=30)
        return list(Delivery.objects.order_by("created_at", "id"))

    return run


def attempts_of(delivery: Delivery) -> list[DeliveryAttempt]:
    return list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))


def assert_secret_kept(secret: str, caplog) -> None:
    """The credential is in no attempt row and no log line."""
    rows = list(
        DeliveryAttempt.objects.values(
            "request_url", "request_headers", "response_headers", "response_body", "error"
        )
    )
    assert rows, "no attempt was recorded"
    assert secret not in json.dumps(rows, default=str)
    assert secret not in caplog.text
    assert all(secret not in str(record.__dict__) for record in caplog.records)


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture(autouse=True)
def _fresh_connectors():
    yield
    for kind in ("salesforce",):
        connector_for(kind).tokens.clear()
