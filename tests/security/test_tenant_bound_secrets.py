"""Secret references are the instance's authority, bound to the tenant that saves them: a tenant
names secrets under SECRET_REFS_PREFIX/<its id>/ (and what an operator granted it), checked on
save and again when resolved. Against moto's Secrets Manager on loopback (real boto3 calls)."""

from __future__ import annotations

import json

import pytest

from core import secret_refs
from core.errors import Invalid
from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus
from sources import services as source_services
from tenants import services as tenant_services
from tests.conftest import assert_error
from tests.delivery.connectors.conftest import attempts_of

pytestmark = pytest.mark.django_db

B_SECRET = "formbridge/refs/t_globex/crm"
B_TOKEN = "globex-crm-token-0123456789"


@pytest.fixture
def b_secret(secrets) -> str:
    """tenant B's CRM token, as its operator stored it: the ARN tenant A must not reach."""
    return secrets.create_secret(Name=B_SECRET, SecretString=json.dumps({"token": B_TOKEN}))["ARN"]


def test_another_tenants_reference_is_refused_on_save_by_name_and_by_arn(
    acme, globex, api, receiver, b_secret
):
    for secret_id in (B_SECRET, b_secret):
        response = api(acme).post(
            "/v1/destinations",
            {"name": "steal", "url": receiver.url("/a"), "auth_mode": "bearer",
             "auth_secret": f"aws-sm://{secret_id}#token"},
        )  # fmt: skip

        body = assert_error(response, 400, "secret_not_allowed")
        assert "formbridge/refs/t_acme/" in body["error"]["message"]
    assert not acme.tenant.destinations.exists()
    # B itself may name it.
    assert api(globex).post(
        "/v1/destinations",
        {"name": "crm", "url": receiver.url("/b"), "auth_mode": "bearer",
         "auth_secret": f"aws-sm://{B_SECRET}#token"},
    ).status_code == 201  # fmt: skip


def test_a_prefix_lookalike_tenant_is_not_the_tenant(acme, api, receiver, secrets):
    """t_acme's prefix is formbridge/refs/t_acme/, which formbridge/refs/t_acme-evil/ is not."""
    response = api(acme).post(
        "/v1/destinations",
        {"name": "x", "url": receiver.url("/a"), "auth_mode": "bearer",
         "auth_secret": "aws-sm://formbridge/refs/t_acme-evil/crm#token"},
    )  # fmt: skip
    assert_error(response, 400, "secret_not_allowed")


def test_a_source_may_not_name_another_tenants_secret(acme, b_secret):
    with pytest.raises(Invalid) as refused:
        source_services.source_create(
            tenant=acme.tenant, name="gh", preset="github", secret=f"aws-sm://{b_secret}#token"
        )
    assert (refused.value.field, refused.value.code) == ("secret", "secret_not_allowed")


def test_an_operator_grant_lets_a_tenant_name_a_shared_secret_and_its_withdrawal_stops_it(
    acme, receiver, signed, secrets
):
    secrets.create_secret(Name="shared/crm", SecretString=json.dumps({"token": "shared-tok-1"}))
    tenant_services.tenant_grant(tenant=acme.tenant, kind="secret", pattern="shared/*")
    acme.tenant.refresh_from_db()
    delivery_services.destination_create(
        tenant=acme.tenant, name="crm", config={"url": receiver.url("/hook")},
        auth_mode="bearer", auth_secret="aws-sm://shared/crm#token",
    )  # fmt: skip
    signed.submit(acme)
    dispatcher.drain()
    assert [r.headers["Authorization"] for r in receiver.at("/hook")] == ["Bearer shared-tok-1"]

    tenant_services.tenant_revoke(tenant=acme.tenant, kind="secret", pattern="shared/*")
    signed.submit(acme)
    dispatcher.drain()

    latest = Delivery.objects.order_by("created_at").last()
    assert latest.status == DeliveryStatus.DEAD  # the same reference would be refused again
    [attempt] = attempts_of(latest)
    assert "outside formbridge/refs/t_acme/" in attempt.error
    assert len(receiver.at("/hook")) == 1  # nothing more was sent


def test_the_finding_b_token_never_reaches_a_receiver_through_the_test_endpoint(
    acme, api, receiver, b_secret, settings
):
    """The review's attack: a destination saved before binding (written straight to the
    table), then POST /test. The reference is checked again when resolved."""
    created = api(acme).post("/v1/destinations", {"name": "mine", "url": receiver.url("/a")})
    assert created.status_code == 201
    from core import crypto
    from delivery.models import Destination

    Destination.objects.filter(name="mine").update(
        auth_mode="bearer", auth_secret_encrypted=crypto.encrypt(f"aws-sm://{b_secret}#token")
    )

    answer = api(acme).post("/v1/destinations/mine/test")

    assert answer.status_code == 200, answer.content
    assert answer.json()["outcome"] == "permanent"
    assert receiver.at("/a") == []


def test_an_unreachable_secret_store_is_503_secret_unavailable(acme, api, receiver, monkeypatch):
    """No region anywhere (the review's NoRegionError): the store cannot be asked, so the test
    is a 503 to retry, not a 500."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    secret_refs.forget()
    api(acme).post(
        "/v1/destinations",
        {"name": "crm", "url": receiver.url("/a"), "auth_mode": "bearer",
         "auth_secret": "aws-sm://formbridge/refs/t_acme/crm#token"},
    )  # fmt: skip

    answer = api(acme).post("/v1/destinations/crm/test")

    assert_error(answer, 503, "secret_unavailable")
    assert answer["Retry-After"]
    secret_refs.forget()


def test_reads_go_through_the_tenant_tagged_role_when_one_is_set(secrets, aws_stack, settings):
    """With SECRET_REFS_ROLE_ARN, every read assumes the role with the tenant as session tag
    (the tag the template's policy puts in the secret's path)."""
    iam = aws_stack.client("iam")
    role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    settings.SECRET_REFS_ROLE_ARN = role
    secrets.create_secret(Name="formbridge/refs/t_acme/x", SecretString='{"k": "v-acme"}')
    calls = []
    original = secret_refs._client

    def recording(region, tenant_id):
        calls.append(tenant_id)
        return original(region, tenant_id)

    secret_refs._client = recording
    try:
        value = secret_refs.resolve(
            "aws-sm://formbridge/refs/t_acme/x#k", secret_refs.binding("t_acme")
        )
    finally:
        secret_refs._client = original
    assert value == "v-acme"
    assert calls == ["t_acme"]
    [client] = [c for (_, tenant, _), (c, _) in secret_refs._clients.items() if tenant == "t_acme"]
    # The role's temporary credentials (moto's start ASIA), not the task's own ("testing").
    assert client._request_signer._credentials.access_key.startswith("ASIA")


def test_the_roles_allow_a_tenants_read_and_iam_itself_refuses_another_tenants(
    secrets, aws_stack, settings
):
    """IAM coverage (moto enforces none; tests/deploy/iam.py does): the task role may assume the
    reader role with the tenant tag, and the reader's policy, with that tag in it, allows the
    tenant's own reference and denies another tenant's, even were FormBridge's check bypassed."""
    from tests.deploy.iam import (
        READER_ARN,
        allowed,
        cover,
        judge,
        recorded_calls,
        role_statements,
        services_resolver,
    )

    reader = aws_stack.client("iam").create_role(
        RoleName="formbridge-test-secret-reader", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    assert reader == READER_ARN  # the ARN the roles are resolved with
    settings.SECRET_REFS_ROLE_ARN = reader
    settings.SECRET_REFS_PREFIX = "formbridge/test/refs"  # as the bundle sets it per environment
    secrets.create_secret(Name="formbridge/test/refs/t_acme/crm", SecretString='{"k": "v"}')
    with recorded_calls() as calls:
        secret_refs.resolve(
            "aws-sm://formbridge/test/refs/t_acme/crm#k", secret_refs.binding("t_acme")
        )

    resolver = services_resolver()
    assumed = [c for c in calls if c.service == "sts"]
    read = [c for c in calls if c.service == "secretsmanager"]
    assert {c.action for c in assumed} == {"sts:AssumeRole", "sts:TagSession"} and read
    processes = ("web", "worker", "release")  # each may read a reference (sources, sends, CLI)
    assert judge(dict.fromkeys(processes, assumed)) == {process: [] for process in processes}
    for role in ("WebTaskRole", "WorkerTaskRole", "ReleaseTaskRole"):
        statements = role_statements(resolver, role)
        assert not any(allowed(statements, c) for c in read), f"{role} reads references itself"

    def as_tenant(tenant: str) -> list[dict]:
        policy = role_statements(resolver, "SecretReferenceReaderRole")
        tagged = json.dumps(policy).replace("${aws:PrincipalTag/formbridge-tenant}", tenant)
        return json.loads(tagged)

    assert all(allowed(as_tenant("t_acme"), c) for c in read)
    assert not any(allowed(as_tenant("t_b"), c) for c in read)
    cover("SecretReferenceReaderRole", read)
