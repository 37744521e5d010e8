"""A new tenant as operators expect it: a signing secret and an inbox to pull from.

Tenants know nothing of destinations (delivery sits above them in the app order), so the shell,
which may use every app, puts the two together for the admin, `manage.py tenants create` and
`manage.py demo`.
"""

from __future__ import annotations

from django.db import transaction

from delivery.connectors.inbox import InboxConnector
from delivery.mirror.scope import ensure_mirror
from delivery.services import destination_create
from tenants.services import TenantWithSecret, tenant_create

INBOX_NAME = "inbox"


def tenant_onboard(
    *, tenant_id: str, name: str = "", secret: str | None = None, with_inbox: bool = True
) -> TenantWithSecret:
    """Create a tenant with one signing secret (generated unless given), unless told not to an
    inbox destination named "inbox" that API consumers can pull (GET /v1/inbox), and with
    DYNAMODB_MIRROR_TABLE set its `mirror` destination."""
    with transaction.atomic():
        created = tenant_create(tenant_id=tenant_id, name=name, secret=secret)
        if with_inbox:
            destination_create(tenant=created.tenant, name=INBOX_NAME, kind=InboxConnector.kind)
        ensure_mirror(
            created.tenant.id
        )  # with DYNAMODB_MIRROR_TABLE set: mirrored from its first lead
    return created
