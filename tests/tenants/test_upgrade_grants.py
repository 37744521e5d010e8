"""Upgrading keeps what worked: the data migrations grant each tenant exactly what its live
destinations and sources already named outside its own space (and nothing for what is inside
it), so no lead is dead-lettered by the upgrade that bound references and targets (issue 27)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from core import crypto
from delivery.models import Destination
from sources.models import Source, SourceSecret
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

destinations_migration = importlib.import_module("delivery.migrations.0014_grant_existing_targets")
sources_migration = importlib.import_module(
    "sources.migrations.0002_grant_existing_secret_references"
)


def test_existing_references_and_targets_are_granted_to_their_tenant(acme, globex, capsys):
    def saved(tenant, name, kind, config, secret=""):
        Destination.objects.create(
            tenant=tenant, name=name, kind=kind, config=config,
            auth_secret_encrypted=crypto.encrypt(secret) if secret else "",
        )  # fmt: skip

    saved(acme.tenant, "crm", "rest", {"url": "https://93.184.216.34/"}, "aws-sm://shared/crm#t")
    saved(acme.tenant, "own", "rest", {"url": "https://93.184.216.34/"},
          "aws-sm://formbridge/refs/t_acme/crm#t")  # fmt: skip
    saved(
        acme.tenant,
        "q",
        "sqs",
        {"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/leads"},
    )
    saved(acme.tenant, "bus", "eventbridge", {"event_bus": "forms"})
    saved(
        acme.tenant, "s3", "s3", {"bucket": "archive", "key_template": "{tenant}/{submission_id}"}
    )
    saved(globex.tenant, "keyed", "sqs", {"queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q",
                                          "access_key_id": "AKIAOWNKEY0000000000"})  # fmt: skip
    source = Source.objects.create(tenant=globex.tenant, name="gh", preset="github", token="src_x")
    SourceSecret.objects.create(source=source, secret_encrypted=crypto.encrypt("aws-sm://gh#s"))

    destinations_migration.grant_existing(apps, None)
    sources_migration.grant_existing(apps, None)

    acme_now, globex_now = Tenant.objects.get(id="t_acme"), Tenant.objects.get(id="t_globex")
    assert acme_now.secret_grants == ["shared/crm"]
    assert acme_now.target_grants == [
        "arn:*:events:*:*:event-bus/forms",
        "arn:*:s3:::archive/t_acme/*",
        "arn:*:sqs:*:123456789012:leads",
    ]
    assert globex_now.secret_grants == ["gh"] and globex_now.target_grants == []
    assert "t_acme: granted what it already used" in capsys.readouterr().out
