"""manage.py schemas set|show|list|delete: the JSON Schemas payloads of a form or an event type
must match (on every way in)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import CommandError

from core.cli import SubcommandCommand, add_json_flag, format_table, require
from core.timeutil import isoformat_z
from ingest import selectors, services
from ingest.models import SchemaSubject
from tenants.cli import tenant_named


def _data(row) -> dict:
    return {
        "subject_kind": row.subject_kind,
        "subject": row.subject,
        "schema": row.schema,
        "updated_at": isoformat_z(row.updated_at),
    }


def _subject(options) -> tuple[str, str]:
    if options.get("form"):
        return SchemaSubject.FORM, options["form"]
    if options.get("event_type"):
        return SchemaSubject.EVENT_TYPE, options["event_type"]
    raise CommandError("name the subject: --form FORM_ID or --event-type TYPE")


class Command(SubcommandCommand):
    help = "Set, show, list and delete the JSON Schemas of forms and event types."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        for name, text in (
            ("set", "Set the schema (from --file, or - for standard input)."),
            ("show", "Print a schema."),
            ("delete", "Stop checking payloads of this form or event type."),
        ):
            action = sub.add_parser(name, help=text)
            action.add_argument("tenant")
            subject = action.add_mutually_exclusive_group(required=True)
            subject.add_argument("--form", help="A form_id.")
            subject.add_argument("--event-type", help="An event type.")
            if name == "set":
                action.add_argument("--file", required=True, help="The schema, JSON.")
        sub.add_parser("list", help="List a tenant's schemas.").add_argument("tenant")
        for subparser in sub.choices.values():
            add_json_flag(subparser)

    def handle_set(self, *, tenant, file, **options):
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text()
            document = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"--file {file}: {exc}") from None
        kind, subject = _subject(options)
        row = services.payload_schema_set(
            tenant=tenant_named(tenant), subject_kind=kind, subject=subject, schema=document
        )
        self.emit(options, _data(row), f"Payloads of {kind} {subject!r} are checked from now on.")

    def handle_show(self, *, tenant, **options):
        kind, subject = _subject(options)
        row = require(
            selectors.payload_schema_get(
                tenant=tenant_named(tenant), subject_kind=kind, subject=subject
            ),
            f"No schema for {kind} {subject!r}.",
        )
        self.emit(options, _data(row), json.dumps(row.schema, indent=2))

    def handle_list(self, *, tenant, **options):
        data = [_data(r) for r in selectors.payload_schema_list(tenant=tenant_named(tenant))]
        rows = [[d["subject_kind"], d["subject"], d["updated_at"]] for d in data]
        self.emit(options, data, format_table(["KIND", "SUBJECT", "UPDATED"], rows))

    def handle_delete(self, *, tenant, **options):
        kind, subject = _subject(options)
        services.payload_schema_delete(
            tenant=tenant_named(tenant), subject_kind=kind, subject=subject
        )
        self.emit(
            options, {"deleted": subject}, f"Payloads of {kind} {subject!r} are no longer checked."
        )
