"""AWS targets are bound to their tenant: a destination that reaches a queue, bus, bucket (or key
prefix) or table with FormBridge's own credentials needs an operator's grant for it (400
target_not_allowed on save, a permanent failure at send once withdrawn). Against moto on
loopback, with the worker's credentials as ECS would give them."""

from __future__ import annotations

import json

import pytest

from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryStatus
from tenants import services as tenant_services
from tests.conftest import assert_error
from tests.delivery.connectors.conftest import LEAD, attempts_of
from tests.delivery.test_commands import run, run_json

pytestmark = pytest.mark.django_db
ACCOUNT = "123456789012"  # moto's


@pytest.fixture
def queues(aws_stack):
    sqs = aws_stack.client("sqs")
    return {
        name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("t_acme-leads", "b-leads")
    }


def test_another_tenants_queue_bus_bucket_and_table_are_refused_on_save(acme, api, aws_stack):
    tenant_services.tenant_grant(
        tenant=acme.tenant, kind="target", pattern=f"arn:aws:sqs:*:{ACCOUNT}:t_acme-*"
    )
    attempts = {
        "sqs": ({"queue_url": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/b-leads"},
                "config.queue_url"),
        "eventbridge": ({"event_bus": "b-bus"}, "config.event_bus"),
        "s3": ({"bucket": "b-archive"}, "config.bucket"),
        "dynamodb": ({"table": "b-mirror"}, "config.table"),
    }  # fmt: skip
    for kind, (config, field) in attempts.items():
        response = api(acme).post(
            "/v1/destinations", {"name": kind, "kind": kind, "config": config}
        )

        body = assert_error(response, 400, "target_not_allowed")
        assert field in body["error"]["fields"], body
        assert "manage.py tenants allow-target t_acme" in body["error"]["message"]
    assert not acme.tenant.destinations.filter(kind__in=list(attempts)).exists()


def test_a_granted_queue_is_delivered_and_a_withdrawn_grant_fails_permanently(
    acme, queues, aws_stack, deliver
):
    run("tenants", "allow-target", "t_acme", f"arn:aws:sqs:*:{ACCOUNT}:t_acme-*")
    acme.tenant.refresh_from_db()
    delivery_services.destination_create(
        tenant=acme.tenant, name="q", kind="sqs",
        config={"queue_url": queues["t_acme-leads"]}, retry_schedule=[0],
    )  # fmt: skip

    [first] = deliver(1, dict(LEAD))
    assert first.status == DeliveryStatus.SUCCEEDED

    run("tenants", "revoke-target", "t_acme", f"arn:aws:sqs:*:{ACCOUNT}:t_acme-*")
    deliver(1, dict(LEAD))
    latest = Delivery.objects.order_by("created_at").last()

    assert latest.status == DeliveryStatus.DEAD
    [attempt] = attempts_of(latest)
    assert attempt.error.startswith("target_not_allowed")
    sqs = aws_stack.client("sqs")
    answer = sqs.receive_message(QueueUrl=queues["t_acme-leads"], MaxNumberOfMessages=10)
    assert len(answer.get("Messages", [])) == 1  # only the first


def test_an_s3_prefix_grant_covers_keys_under_it_only(acme, api, aws_stack):
    tenant_services.tenant_grant(
        tenant=acme.tenant, kind="target", pattern="arn:aws:s3:::shared-archive/t_acme/*"
    )

    inside = api(acme).post("/v1/destinations", {
        "name": "in", "kind": "s3",
        "config": {"bucket": "shared-archive", "key_template": "{tenant}/{date}/{submission_id}"},
    })  # fmt: skip
    outside = api(acme).post("/v1/destinations", {
        "name": "out", "kind": "s3",
        "config": {"bucket": "shared-archive", "key_template": "{form_id}/{submission_id}"},
    })  # fmt: skip

    assert inside.status_code == 201, inside.content
    assert_error(outside, 400, "target_not_allowed")


def test_a_destination_with_its_own_key_needs_no_grant(acme, api, aws_stack):
    response = api(acme).post("/v1/destinations", {
        "name": "own", "kind": "sqs", "auth_secret": "own-secret-key-0123456789",
        "config": {"queue_url": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/b-leads",
                   "access_key_id": "AKIAOWNKEY0000000000"},
    })  # fmt: skip
    assert response.status_code == 201, response.content


def test_the_operators_mirror_table_is_every_tenants_own_partition(acme, api, settings, aws_stack):
    settings.DYNAMODB_MIRROR_TABLE = "formbridge-mirror"
    response = api(acme).post(
        "/v1/destinations",
        {"name": "m", "kind": "dynamodb", "config": {"table": "formbridge-mirror"}},
    )
    assert response.status_code == 201, response.content


def test_grants_are_an_operators_alone(acme, api):
    """No API field sets them: a key's PATCH of its tenant is not a thing, and the tenants
    command refuses a grant that would reach everything."""
    with pytest.raises(Exception) as everything:
        run("tenants", "allow-target", "t_acme", "*")
    assert "ARN" in str(everything.value)
    shown = run_json("tenants", "grants", "t_acme")
    assert shown == {"id": "t_acme", "secret_grants": [], "target_grants": [], "mail_senders": []}
    assert json.dumps(api(acme).get("/v1/destinations").json()).count("grant") == 0
