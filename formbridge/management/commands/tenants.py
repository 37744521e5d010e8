"""manage.py tenants create|rotate-secret|list|disable|enable, and the operator's grants:
allow-secret|revoke-secret|allow-target|revoke-target|grants."""

from functools import partialmethod

from django.utils import timezone

from core.cli import SubcommandCommand, add_json_flag, add_overlap_flag, format_table
from core.timeutil import isoformat_z
from formbridge.onboarding import tenant_onboard
from tenants import selectors, services
from tenants.cli import tenant_named
from tenants.models import Tenant


def _tenant_data(tenant: Tenant) -> dict:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "is_active": tenant.is_active,
        "rate_limit_per_second": tenant.rate_limit_per_second,
        "daily_quota": tenant.daily_quota,
        "max_payload_bytes": tenant.max_payload_bytes,
        "retention_days": tenant.retention_days,
        "created_at": isoformat_z(tenant.created_at),
    }


GRANT_HELP = {
    "secret": "the tenant's aws-sm:// references name these secrets (beyond "
    "<SECRET_REFS_PREFIX>/<tenant>/).",
    "target": "the tenant's destinations use these AWS queues, buses, buckets (or "
    "arn:aws:s3:::bucket/prefix/*) and tables with FormBridge's own credentials.",
    "sender": "the tenant's e-mail destinations send From this address (verified by you) "
    "through the operator's relay.",
}


class Command(SubcommandCommand):
    help = "Create, list, disable tenants and rotate their signing secrets."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        create = sub.add_parser("create", help="Create a tenant; prints its signing secret once.")
        create.add_argument("slug", help="Tenant id, e.g. t_acme (sent as X-Tenant-Id).")
        create.add_argument("--name", default="")
        create.add_argument("--secret", help="Use this signing secret instead of a generated one.")
        create.add_argument(
            "--no-inbox",
            action="store_true",
            help="Without the default inbox destination (GET /v1/inbox).",
        )
        rotate = sub.add_parser("rotate-secret", help="Issue a new signing secret.")
        rotate.add_argument("slug")
        add_overlap_flag(rotate, "the current secrets keep verifying")
        sub.add_parser("list", help="List tenants.")
        for name in ("disable", "enable"):
            sub.add_parser(name, help=f"{name.title()} a tenant.").add_argument("slug")
        for kind, what in GRANT_HELP.items():
            for verb, text in (("allow", "Let"), ("revoke", "No longer let")):
                grant = sub.add_parser(f"{verb}-{kind}", help=f"{text} {what}")
                grant.add_argument("slug")
                grant.add_argument("pattern", help="A name or ARN; * is a wildcard.")
        sub.add_parser("grants", help="Show a tenant's grants.").add_argument("slug")
        for subparser in sub.choices.values():
            add_json_flag(subparser)

    def handle_create(self, *, slug, name, secret, no_inbox, **options):
        created = tenant_onboard(tenant_id=slug, name=name, secret=secret, with_inbox=not no_inbox)
        data = {**_tenant_data(created.tenant), "signing_secret": created.signing_secret}
        self.emit(
            options,
            data,
            f"Created tenant {slug}.\n"
            f"Signing secret (shown once, store it now): {created.signing_secret}",
        )

    def handle_rotate_secret(self, *, slug, overlap_hours, **options):
        tenant = tenant_named(slug)
        secret = services.tenant_rotate_secret(tenant=tenant, overlap_hours=overlap_hours)
        active = selectors.signing_secrets_active(tenant=tenant, now=timezone.now())
        old_expiry = [isoformat_z(s.expires_at) for s in active if s.expires_at is not None]
        self.emit(
            options,
            {"id": slug, "signing_secret": secret, "previous_secrets_expire_at": old_expiry},
            f"New signing secret for {slug} (shown once): {secret}\n"
            f"Previous secret(s) keep working until: {', '.join(old_expiry) or 'now'}",
        )

    def handle_list(self, **options):
        tenants = list(selectors.tenant_list())
        self.emit(
            options,
            [_tenant_data(t) for t in tenants],
            format_table(
                ["ID", "NAME", "ACTIVE", "CREATED"],
                [[t.id, t.name, t.is_active, f"{t.created_at:%Y-%m-%d %H:%M}"] for t in tenants],
            ),
        )

    def _set_active(self, slug, is_active, options):
        tenant = services.tenant_set_active(tenant=tenant_named(slug), is_active=is_active)
        state = "enabled" if is_active else "disabled"
        self.emit(options, _tenant_data(tenant), f"Tenant {slug} {state}.")

    def handle_disable(self, *, slug, **options):
        self._set_active(slug, False, options)

    def handle_enable(self, *, slug, **options):
        self._set_active(slug, True, options)

    def _grants(self, slug, options, message):
        tenant = tenant_named(slug)
        data = {"id": tenant.id, **{f: getattr(tenant, f) for f in services.GRANT_FIELDS.values()}}
        lines = [message] if message else []
        lines += [f"secrets: {', '.join(tenant.secret_grants) or '(only its own path)'}",
                  f"targets: {', '.join(tenant.target_grants) or '(none)'}",
                  f"senders: {', '.join(tenant.mail_senders) or '(none)'}"]  # fmt: skip
        self.emit(options, data, "\n".join(lines))

    def _change_grant(self, change, kind, *, slug, pattern, **options):
        change(tenant=tenant_named(slug), kind=kind, pattern=pattern)
        done = "granted" if change is services.tenant_grant else "revoked"
        self._grants(slug, options, f"{slug}: {kind} {pattern} {done}.")

    handle_allow_secret = partialmethod(_change_grant, services.tenant_grant, "secret")
    handle_revoke_secret = partialmethod(_change_grant, services.tenant_revoke, "secret")
    handle_allow_target = partialmethod(_change_grant, services.tenant_grant, "target")
    handle_revoke_target = partialmethod(_change_grant, services.tenant_revoke, "target")
    handle_allow_sender = partialmethod(_change_grant, services.tenant_grant, "sender")
    handle_revoke_sender = partialmethod(_change_grant, services.tenant_revoke, "sender")

    def handle_grants(self, *, slug, **options):
        self._grants(slug, options, "")
