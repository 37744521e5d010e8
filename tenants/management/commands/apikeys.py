"""manage.py apikeys create|revoke|list."""

from core.cli import SubcommandCommand, add_json_flag, format_table
from core.timeutil import isoformat_z
from tenants import selectors, services
from tenants.cli import tenant_named
from tenants.models import ApiKey


def _key_data(api_key: ApiKey) -> dict:
    return {
        "prefix": api_key.prefix,
        "tenant": api_key.tenant_id,
        "name": api_key.name,
        "scopes": api_key.scopes,
        "revoked_at": isoformat_z(api_key.revoked_at) if api_key.revoked_at else None,
        "last_used_at": isoformat_z(api_key.last_used_at) if api_key.last_used_at else None,
        "created_at": isoformat_z(api_key.created_at),
    }


class Command(SubcommandCommand):
    help = "Create, revoke and list API keys."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        create = sub.add_parser("create", help="Create a key; prints it once.")
        create.add_argument("tenant")
        create.add_argument("--name", default="")
        create.add_argument(
            "--scopes",
            default="ingest",
            help="Comma-separated: ingest, read, inbox, admin (default ingest).",
        )
        sub.add_parser("revoke", help="Revoke a key at once.").add_argument(
            "prefix", help="The key's prefix, e.g. fb_live_AbCd1234."
        )
        sub.add_parser("list", help="List a tenant's keys.").add_argument("tenant")
        for subparser in sub.choices.values():
            add_json_flag(subparser)

    def handle_create(self, *, tenant, name, scopes, **options):
        scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
        created = services.api_key_create(tenant=tenant_named(tenant), name=name, scopes=scope_list)
        self.emit(
            options,
            {**_key_data(created.api_key), "key": created.key},
            f"API key for {tenant} (shown once, store it now): {created.key}\n"
            f"Prefix: {created.api_key.prefix}  Scopes: {', '.join(created.api_key.scopes)}",
        )

    def handle_revoke(self, *, prefix, **options):
        api_key = services.api_key_revoke(prefix=prefix)
        self.emit(options, _key_data(api_key), f"Revoked {api_key.prefix}.")

    def handle_list(self, *, tenant, **options):
        keys = list(selectors.api_key_list(tenant=tenant_named(tenant)))
        self.emit(
            options,
            [_key_data(k) for k in keys],
            format_table(
                ["PREFIX", "NAME", "SCOPES", "REVOKED", "LAST USED"],
                [
                    [
                        k.prefix,
                        k.name,
                        ",".join(k.scopes),
                        f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
                        f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
                    ]
                    for k in keys
                ],
            ),
        )
