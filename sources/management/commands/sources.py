"""manage.py sources add|list|rotate-secret|disable|enable|delete."""

from __future__ import annotations

import json
import os

from django.core.management.base import CommandError

from core.cli import SubcommandCommand, add_json_flag, add_overlap_flag, format_table, require
from sources import selectors, services
from sources.presets.registry import preset_for, preset_names
from sources.serializers import CreatedSourceSerializer, SourceSerializer
from tenants.cli import tenant_named


def _data(source, secret: str | None = None) -> dict:
    """The object the API returns for this source (with a generated secret, once)."""
    serializer = CreatedSourceSerializer if secret else SourceSerializer
    data = dict(serializer(source, context={"url_of": selectors.source_url}).data)
    if secret:
        data["secret"] = secret
    return data


def _secret(options) -> str | None:
    if options.get("secret_env"):
        value = os.environ.get(options["secret_env"], "")
        if not value:
            raise CommandError(f"${options['secret_env']} is empty or unset")
        return value
    return options.get("secret")


class Command(SubcommandCommand):
    help = "Add, list, rotate the secret of, disable, enable and delete sources."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        add = sub.add_parser("add", help="Add a source: a URL a provider posts its webhooks to.")
        add.add_argument("tenant")
        add.add_argument("name")
        add.add_argument("--preset", required=True, choices=preset_names())
        rotate = sub.add_parser("rotate-secret", help="Add a new secret; the old ones overlap.")
        for takes_secret in (add, rotate):
            takes_secret.add_argument("--secret", help="The provider's signing secret.")
            takes_secret.add_argument("--secret-env", help="Read the secret from this variable.")
        add.add_argument("--config", help="Preset options as JSON (generic-hmac).")
        rotate.add_argument("tenant")
        rotate.add_argument("name")
        add_overlap_flag(rotate, "the current secrets keep verifying")
        sub.add_parser("list", help="List a tenant's sources.").add_argument("tenant")
        for name in ("disable", "enable", "delete"):
            action = sub.add_parser(name, help=f"{name.title()} a source.")
            action.add_argument("tenant")
            action.add_argument("name")
        for subparser in sub.choices.values():
            add_json_flag(subparser)

    def _source(self, tenant, name):
        return require(
            selectors.source_get(tenant=tenant_named(tenant), name=name),
            f"No source {name!r} for {tenant}.",
        )

    def _show(self, options, data: dict) -> None:
        lines = [f"{data['name']} ({data['preset']}): {data['url']}"]
        if data.get("secret"):
            lines.append(f"secret (shown once): {data['secret']}")
        self.emit(options, data, "\n".join(lines))

    def handle_add(self, *, tenant, name, preset, **options):
        try:
            config = json.loads(options["config"]) if options["config"] else None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not JSON: {exc}") from None
        created = services.source_create(
            tenant=tenant_named(tenant),
            name=name,
            preset=preset,
            secret=_secret(options),
            config=config,
        )
        self._show(options, _data(created.source, created.secret))
        if not options["json"]:
            self.stdout.write(f"Give that URL to {preset_for(preset).label}.")

    def handle_rotate_secret(self, *, tenant, name, **options):
        rotated = services.source_rotate_secret(
            source=self._source(tenant, name),
            secret=_secret(options),
            overlap_hours=options["overlap_hours"],
        )
        self._show(options, _data(rotated.source, rotated.secret))

    def handle_list(self, *, tenant, **options):
        data = [_data(s) for s in selectors.source_list(tenant=tenant_named(tenant))]
        rows = [[d["name"], d["preset"], "yes" if d["enabled"] else "no", d["url"]] for d in data]
        self.emit(options, data, format_table(["NAME", "PRESET", "ENABLED", "URL"], rows))

    def _set_enabled(self, tenant, name, enabled: bool, options) -> None:
        source = services.source_update(source=self._source(tenant, name), enabled=enabled)
        self._show(options, _data(source))

    def handle_disable(self, *, tenant, name, **options):
        self._set_enabled(tenant, name, False, options)

    def handle_enable(self, *, tenant, name, **options):
        self._set_enabled(tenant, name, True, options)

    def handle_delete(self, *, tenant, name, **options):
        services.source_delete(source=self._source(tenant, name))
        self.emit(options, {"deleted": name}, f"Deleted {name}.")
