"""manage.py purge: apply retention (each tenant's retention_days, or --older-than-days)."""

import json

from django.core.management.base import BaseCommand, CommandError

from core.cli import ProgressBar, add_json_flag
from ingest.retention import BATCH_SIZE, submissions_purge
from tenants.cli import tenant_named


class Command(BaseCommand):
    help = "Delete submissions past retention, with their deliveries and attempts, in batches."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-days",
            type=int,
            metavar="N",
            help="Use N days for every tenant instead of each tenant's retention_days.",
        )
        parser.add_argument("--tenant", help="Only this tenant.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")
        add_json_flag(parser)

    def handle(self, *args, **options):
        days, batch = options["older_than_days"], options["batch_size"]
        if days is not None and days < 0:
            raise CommandError("--older-than-days cannot be negative")
        if batch < 1:
            raise CommandError("--batch-size must be at least 1")
        tenant = tenant_named(options["tenant"]) if options["tenant"] else None
        arguments = dict(older_than_days=days, tenant=tenant)
        counted = submissions_purge(**arguments, dry_run=True)
        result = counted
        if not options["dry_run"] and counted.submissions:
            bar = ProgressBar(self.stderr, counted.submissions, "purging")
            result = submissions_purge(**arguments, batch_size=batch, progress=bar.advance)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "dry_run": result.dry_run,
                        "submissions": result.submissions,
                        "deliveries": result.deliveries,
                        "attempts": result.attempts,
                        "files": result.files,
                        "by_tenant": result.by_tenant,
                    }
                )
            )
            return
        verb = "would delete" if result.dry_run else "deleted"
        self.stdout.write(
            f"{verb} {result.submissions} submissions, {result.deliveries} deliveries and "
            f"{result.attempts} attempts"
            + (f" ({result.files} stored files)" if result.files else "")
            + "".join(f"\n  {t}: {n}" for t, n in sorted(result.by_tenant.items()))
        )
