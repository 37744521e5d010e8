"""manage.py demo: make sure the demo tenant exists and print how to send it a signed submission."""

import os
import shlex
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from core import crypto
from delivery import selectors as destination_selectors
from delivery import services as destination_services
from formbridge.onboarding import tenant_onboard
from tenants import selectors, services
from tenants.models import Tenant

DEMO_TENANT = "t_demo"
DEMO_DESTINATION = "demo-receiver"
DEMO_BODY = '{"name":"Jane","email":"jane@example.com","message":"Hello!"}'


def signed_curl(*, base_url: str, tenant_id: str, secret: str, form_id: str = "contact_us") -> str:
    """A shell snippet that signs at the moment it runs, so it never goes stale."""
    return "\n".join(
        [
            f"SECRET={shlex.quote(secret)}",
            f"BODY={shlex.quote(DEMO_BODY)}",
            "TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)",
            'SIG=$(printf \'%s\\n%s\' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" '
            "| sed 's/^.* //')",
            f"curl -sS -X POST {base_url}/v1/ingest \\",
            "  -H 'Content-Type: application/json' \\",
            f"  -H 'X-Tenant-Id: {tenant_id}' -H 'X-Form-Id: {form_id}' \\",
            '  -H "X-Timestamp: $TS" -H "X-Signature: $SIG" \\',
            '  --data-raw "$BODY"',
        ]
    )


class Command(BaseCommand):
    help = "Create the demo tenant if needed and print its id, secret and a signed curl."

    def add_arguments(self, parser):
        port = os.environ.get("PORT", "8000")
        parser.add_argument("--base-url", default=f"http://127.0.0.1:{port}")
        parser.add_argument(
            "--receiver-url", help="Give the demo tenant a signed destination at this URL."
        )

    def _tenant_and_secret(self) -> tuple[Tenant, str]:
        tenant = selectors.tenant_get(tenant_id=DEMO_TENANT)
        if tenant is None:
            created = tenant_onboard(tenant_id=DEMO_TENANT, name="Demo")
            return created.tenant, created.signing_secret
        # The demo tenant only: read its secret back so every `make run` can print the curl.
        newest = selectors.signing_secrets_active(tenant=tenant, now=timezone.now()).first()
        if newest is None:
            return tenant, services.tenant_rotate_secret(tenant=tenant, overlap_hours=0)
        return tenant, crypto.decrypt(newest.secret_encrypted)

    def _ensure_receiver(self, tenant: Tenant, url: str) -> str:
        """A signed destination; its whsec_ secret goes to var/ for the demo receiver to check."""
        destination = destination_selectors.destination_get(tenant=tenant, name=DEMO_DESTINATION)
        if destination is None:
            created = destination_services.destination_create(
                tenant=tenant,
                name=DEMO_DESTINATION,
                config={"url": url},
                generate_signing_secret=True,
                retry_schedule=[2, 5, 10],
            )
            signing_secret = created.signing_secret
        else:
            signing_secret = crypto.decrypt(destination.signing_secret_encrypted)
        secret_file = Path(settings.VAR_DIR) / "demo-receiver.secret"
        secret_file.write_text(signing_secret + "\n")
        secret_file.chmod(0o600)
        return f"  destination:    {DEMO_DESTINATION} -> {url} (Standard Webhooks signed)"

    def _api_key(self, tenant: Tenant) -> str:
        """A demo key for reading back and pulling the inbox, kept in var/ (the demo only: a real
        key is shown once and never stored)."""
        key_file = Path(settings.VAR_DIR) / "demo-api-key"
        if key_file.exists():
            raw = key_file.read_text().strip()
            if selectors.api_key_get_by_raw(raw_key=raw) is not None:
                return raw
        created = services.api_key_create(
            tenant=tenant, name="demo", scopes=["ingest", "read", "inbox", "admin"]
        )
        key_file.write_text(created.key + "\n")
        key_file.chmod(0o600)
        return created.key

    def handle(self, *args, base_url, receiver_url, **options):
        tenant, secret = self._tenant_and_secret()
        lines = [
            "",
            "FormBridge demo tenant",
            f"  tenant id:      {DEMO_TENANT}",
            f"  signing secret: {secret}",
        ]
        if receiver_url:
            lines.append(self._ensure_receiver(tenant, receiver_url))
        lines += [
            "",
            "Send it a signed submission (paste into a shell while `make run` serves):",
            "",
            signed_curl(base_url=base_url, tenant_id=DEMO_TENANT, secret=secret),
            "",
            f"Read it back, and pull the demo tenant's inbox (API docs: {base_url}/v1/docs):",
            "",
            f"KEY={self._api_key(tenant)}",
            f'curl -sS -H "Authorization: Bearer $KEY" {base_url}/v1/submissions',
            f'curl -sS -H "Authorization: Bearer $KEY" {base_url}/v1/inbox',
            "",
            "",
        ]
        self.stdout.write("\n".join(lines))
