from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from delivery import dispatcher
from delivery import services as delivery_services
from delivery.models import Delivery, DeliveryAttempt, Destination
from ingest.models import Submission
from sources.models import Source
from sources.services import source_create
from tenants.models import ApiKey
from tenants.operators import operator_grant
from tenants.services import api_key_create
from tests.factories import tenant_with_secret

# The admin's destination form as a browser posts it, with the defaults a new one shows.
DESTINATION_FORM = {
    "kind": "rest",
    "enabled": "on",
    "auth_mode": "none",
    "signing_action": "generate",
    "timeout_seconds": "15",
    "connect_timeout_seconds": "5",
    "max_concurrency": "10",
    "rate_limit_per_second": "0",
    "files_as": "link",
}


@pytest.fixture
def world(signed, receiver):
    """Two tenants, each with a destination, a key, a delivered and a dead submission."""
    objects = {}
    for tenant_id in ("t_acme", "t_globex"):
        created = tenant_with_secret(tenant_id)
        delivery_services.destination_create(
            tenant=created.tenant, name=f"crm-{tenant_id}", config={"url": receiver.url("/ok")}
        )
        delivery_services.destination_create(
            tenant=created.tenant, name=f"dead-{tenant_id}", config={"url": receiver.url("/no")}
        )
        api_key_create(tenant=created.tenant, name=f"key-{tenant_id}")
        source_create(
            tenant=created.tenant,
            name=f"gh-{tenant_id}".replace("_", "-"),
            preset="github",
            secret="gh-webhook-secret-0123",
        )
        body = {"submission_id": f"sub-{tenant_id}", "form_id": f"form-{tenant_id}", "payload": {}}
        assert signed.post(created, body).status_code == 202
        objects[tenant_id] = created
    receiver.set("/no", [400])
    dispatcher.drain()
    return objects


def objects_of(tenant_id: str) -> dict[str, list]:
    """Every admin-visible object of a tenant, by admin URL name prefix."""
    deliveries = Delivery.objects.filter(tenant_id=tenant_id)
    return {
        "tenants_tenant": [tenant_id],
        "tenants_apikey": list(
            ApiKey.objects.filter(tenant_id=tenant_id).values_list("pk", flat=True)
        ),
        "delivery_destination": list(
            Destination.objects.filter(tenant_id=tenant_id).values_list("pk", flat=True)
        ),
        "delivery_delivery": list(deliveries.values_list("pk", flat=True)),
        "delivery_deadletter": list(deliveries.filter(status="dead").values_list("pk", flat=True)),
        "delivery_deliveryattempt": list(
            DeliveryAttempt.objects.filter(tenant_id=tenant_id).values_list("pk", flat=True)
        ),
        "sources_source": list(
            Source.objects.filter(tenant_id=tenant_id).values_list("pk", flat=True)
        ),
        "ingest_submission": list(
            Submission.objects.filter(tenant_id=tenant_id).values_list("pk", flat=True)
        ),
    }


@pytest.fixture
def alice(world, client):
    """A staff operator of t_acme only, logged in."""
    user = get_user_model().objects.create_user("alice", password="alice-pass-123")
    operator_grant(user=user, tenant=world["t_acme"].tenant, role="operator")
    client.force_login(user)
    return user


@pytest.fixture
def root(world, client):
    user = get_user_model().objects.create_superuser("root", password="root-pass-123")
    client.force_login(user)
    return user
