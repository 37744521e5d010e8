"""manage.py demo: make sure the demo tenant exists and print how to send it a signed submission."""

import os
import shlex

from django.core.management.base import BaseCommand
from django.utils import timezone

from formbridge import crypto
from tenants import selectors, services

DEMO_TENANT = "t_demo"
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
        parser.add_argument(
            "--base-url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
        )

    def handle(self, *args, base_url, **options):
        tenant = selectors.tenant_get(tenant_id=DEMO_TENANT)
        if tenant is None:
            secret = services.tenant_create(tenant_id=DEMO_TENANT, name="Demo").signing_secret
        else:
            # The demo tenant only: read its secret back so every `make run` can print the curl.
            newest = selectors.signing_secrets_active(tenant=tenant, now=timezone.now()).first()
            secret = (
                crypto.decrypt(newest.secret_encrypted)
                if newest
                else services.tenant_rotate_secret(tenant=tenant, overlap_hours=0)
            )
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "FormBridge demo tenant",
                    f"  tenant id:      {DEMO_TENANT}",
                    f"  signing secret: {secret}",
                    "",
                    "Send it a signed submission (paste into a shell while `make run` serves):",
                    "",
                    signed_curl(base_url=base_url, tenant_id=DEMO_TENANT, secret=secret),
                    "",
                    "",
                ]
            )
        )
