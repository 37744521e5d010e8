"""manage.py forms add|list|show|update|delete: browser forms, as the API manages them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.core.management.base import CommandError

from core.cli import SubcommandCommand, add_json_flag, format_table, require
from tenants.cli import tenant_named
from webforms import selectors, services
from webforms.models import CaptchaProvider
from webforms.serializers import FormSerializer

CONTEXT = {"action_url_of": selectors.action_url, "schema_of": selectors.form_schema}


def _data(form) -> dict:
    """The object the API returns for this form."""
    return dict(FormSerializer(form, context=CONTEXT).data)


def _schema(path: str | None):
    if path is None:
        return services.UNSET
    if path == "none":
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CommandError(f"--schema {path}: {exc}") from None


def _settings(options) -> dict:
    """The settings given on the command line (absent ones are left as they are)."""
    given = {
        "allowed_origins": options.get("origin"),
        "redirect_url": options.get("redirect"),
        "honeypot_field": options.get("honeypot"),
        "captcha_provider": options.get("captcha"),
        "rate_limit_per_minute": options.get("rate_per_minute"),
        "ip_rate_limit_per_minute": options.get("ip_rate_per_minute"),
        "max_files": options.get("max_files"),
        "max_file_bytes": options.get("max_file_bytes"),
        "allowed_file_types": options.get("file_type"),
    }
    if options.get("captcha_secret_env"):
        secret = os.environ.get(options["captcha_secret_env"], "")
        if not secret:
            raise CommandError(f"${options['captcha_secret_env']} is empty or unset")
        given["captcha_secret"] = secret
    return {name: value for name, value in given.items() if value is not None}


class Command(SubcommandCommand):
    help = "Add, list, show, update and delete browser forms (POST /f/<form_key>)."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        add = sub.add_parser("add", help="Add a form: an action URL a plain HTML form posts to.")
        update = sub.add_parser("update", help="Change a form's settings or schema.")
        for action in (add, update):
            action.add_argument("tenant")
            action.add_argument("form_id")
            action.add_argument(
                "--origin", action="append", help="An origin whose pages may post (repeatable)."
            )
            action.add_argument("--redirect", help="The thank-you page's URL.")
            action.add_argument("--honeypot", help="The hidden honeypot field (default _gotcha).")
            action.add_argument("--captcha", choices=[c for c in CaptchaProvider.values if c])
            action.add_argument(
                "--captcha-secret-env", help="Read the captcha secret key from this variable."
            )
            action.add_argument("--rate-per-minute", type=int, help="Posts a minute, in all.")
            action.add_argument("--ip-rate-per-minute", type=int, help="Posts a minute per IP.")
            action.add_argument("--max-files", type=int)
            action.add_argument("--max-file-bytes", type=int)
            action.add_argument(
                "--file-type", action="append", help="An allowed content type (repeatable)."
            )
            action.add_argument(
                "--schema", help="A JSON Schema file its posts must match ('none' removes it)."
            )
        sub.add_parser("list", help="List a tenant's forms.").add_argument("tenant")
        for name in ("show", "delete"):
            action = sub.add_parser(name, help=f"{name.title()} a form.")
            action.add_argument("tenant")
            action.add_argument("form_id")
        for subparser in sub.choices.values():
            add_json_flag(subparser)

    def _form(self, tenant, form_id):
        return require(
            selectors.form_get(tenant=tenant_named(tenant), form_id=form_id),
            f"No form {form_id!r} for {tenant}.",
        )

    def _show(self, options, data: dict) -> None:
        origins = ", ".join(data["allowed_origins"]) or "any origin"
        text = (
            f'{data["form_id"]}: <form action="{data["action_url"]}" method="post">\n'
            f"  from: {origins}\n  then: {data['redirect_url'] or 'the built-in thank-you page'}"
            + ("\n  schema: yes" if data["schema"] is not None else "")
        )
        self.emit(options, data, text)

    def handle_add(self, *, tenant, form_id, **options):
        schema = _schema(options.get("schema"))
        form = services.form_create(
            tenant=tenant_named(tenant),
            form_id=form_id,
            schema=None if schema is services.UNSET else schema,
            **_settings(options),
        )
        self._show(options, _data(form))

    def handle_update(self, *, tenant, form_id, **options):
        form = services.form_update(
            form=self._form(tenant, form_id),
            schema=_schema(options.get("schema")),
            **_settings(options),
        )
        self._show(options, _data(form))

    def handle_show(self, *, tenant, form_id, **options):
        self._show(options, _data(self._form(tenant, form_id)))

    def handle_list(self, *, tenant, **options):
        data = [_data(f) for f in selectors.form_list(tenant=tenant_named(tenant))]
        rows = [
            [
                d["form_id"],
                "yes" if d["enabled"] else "no",
                ", ".join(d["allowed_origins"]) or "*",
                d["action_url"],
            ]
            for d in data
        ]
        self.emit(options, data, format_table(["FORM", "ENABLED", "ORIGINS", "ACTION URL"], rows))

    def handle_delete(self, *, tenant, form_id, **options):
        services.form_delete(form=self._form(tenant, form_id))
        self.emit(options, {"deleted": form_id}, f"Deleted {form_id}.")
