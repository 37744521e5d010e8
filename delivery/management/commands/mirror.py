"""manage.py mirror create-table|table-definition|backfill|verify|copy-attempts: the DynamoDB
mirror (dynamodb destinations, or every tenant with DYNAMODB_MIRROR_TABLE)."""

import json

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.dateparse import parse_date, parse_datetime

from core.cli import ProgressBar, SubcommandCommand, add_json_flag, format_table
from delivery.connectors import aws
from delivery.connectors.base import DestinationSnapshot
from delivery.mirror import attempts, backfill, scope, table, verify


def _since(text: str | None):
    if not text:
        return None
    moment = parse_datetime(text)
    if moment is None and parse_date(text):
        moment = parse_datetime(f"{text}T00:00:00Z")
    if moment is None or moment.tzinfo is None:
        raise CommandError("--since takes a date (2026-01-31) or a time with its zone (…Z)")
    return moment


class Command(SubcommandCommand):
    help = "Create, fill and check the DynamoDB mirror."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        create = sub.add_parser("create-table", help="Create the mirror table (and its TTL).")
        create.add_argument(
            "--table", dest="table_name", default=None, help="Default: DYNAMODB_MIRROR_TABLE."
        )
        create.add_argument("--region", default=None)
        sub.add_parser(
            "table-definition", help="Print CreateTable's arguments (the deploy bundle's source)."
        )
        fill = sub.add_parser("backfill", help="Copy stored submissions into the mirror.")
        fill.add_argument("--tenant", help="One tenant (default: every mirrored tenant).")
        fill.add_argument("--since", help="Only submissions received since this date or time.")
        fill.add_argument("--restart", action="store_true", help="Start over, not from the cursor.")
        check = sub.add_parser("verify", help="Compare counts and a sample with PostgreSQL.")
        check.add_argument("--tenant")
        check.add_argument("--sample", type=int, default=200, help="Items read back per tenant.")
        sub.add_parser("copy-attempts", help="Copy new delivery attempts now (beat does it too).")
        for subparser in sub.choices.values():
            add_json_flag(subparser)

    def _destinations(self, tenant):
        destinations = scope.mirror_destinations(tenant)
        if not destinations:
            raise CommandError(
                "No mirror: add a dynamodb destination (manage.py destinations add <tenant> "
                'mirror --kind dynamodb --config \'{"table": "…"}\') or set DYNAMODB_MIRROR_TABLE.'
            )
        return destinations

    def handle_create_table(self, *, table_name: str | None, region: str | None, **options):
        name = table_name or settings.DYNAMODB_MIRROR_TABLE
        if not name:
            raise CommandError("Give --table, or set DYNAMODB_MIRROR_TABLE.")
        snapshot = DestinationSnapshot(
            id=None, tenant_id="", name="", kind="dynamodb",
            config={"table": name, **({"region": region} if region else {})},
            auth_mode="none", auth_config={}, auth_secret="", signing_secret="",
            timeout_seconds=60.0, connect_timeout_seconds=10.0,
        )  # fmt: skip
        created = table.create_table(aws.client("dynamodb", snapshot), name)
        self.emit(
            options, {"table": name, "created": created},
            f"Created {name}." if created else f"{name} exists already.",
        )  # fmt: skip

    def handle_table_definition(self, **options):
        self.stdout.write(json.dumps(table.definition(table.DEFAULT_NAME), indent=2))

    def handle_backfill(self, *, tenant, since, restart, **options):
        moment = _since(since)
        results = []
        for destination in self._destinations(tenant):
            total = backfill.count_remaining(destination, since=moment, restart=restart)
            bar = None if options["json"] else ProgressBar(
                self.stderr, total, f"{destination.tenant_id}/{destination.name}"
            )  # fmt: skip
            result = backfill.backfill(
                destination, since=moment, restart=False, progress=bar.advance if bar else None
            )
            results.append(result)
        rows = [
            [r.tenant_id, r.destination, r.written, "yes" if r.resumed else "no"] for r in results
        ]
        self.emit(
            options,
            [r.__dict__ for r in results],
            format_table(["tenant", "destination", "written", "resumed"], rows),
        )

    def handle_verify(self, *, tenant, sample, **options):
        reports = [verify.verify(d, sample=sample) for d in self._destinations(tenant)]
        rows = [
            [r.tenant_id, r.destination, r.postgres, r.dynamodb, r.sampled, len(r.missing),
             len(r.different), "ok" if r.ok else "DIFFERS"]
            for r in reports
        ]  # fmt: skip
        self.emit(
            options,
            [{**r.__dict__, "ok": r.ok} for r in reports],
            format_table(
                ["tenant", "destination", "postgres", "dynamodb", "sampled", "missing",
                 "different", "result"], rows,
            ),
        )  # fmt: skip
        for report in reports:
            for submission_id in report.missing[:10]:
                self.stderr.write(f"{report.tenant_id}: {submission_id} is not in the mirror")
            for submission_id, fields in list(report.different.items())[:10]:
                self.stderr.write(f"{report.tenant_id}: {submission_id} differs in {fields}")
        if not all(r.ok for r in reports):
            raise CommandError("The mirror differs from PostgreSQL (mirror backfill fixes it).")

    def handle_copy_attempts(self, **options):
        copied = attempts.copy_all_attempts()
        self.emit(options, {"copied": copied}, f"Copied {copied} attempts.")
