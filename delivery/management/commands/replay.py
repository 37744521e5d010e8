"""manage.py replay: queue deliveries again, through the same path as the first delivery."""

import json

from django.core.management.base import BaseCommand, CommandError

from core.cli import ProgressBar, add_json_flag, require
from core.timeutil import parse_aware_datetime
from delivery import selectors, services
from tenants.cli import tenant_named


def _moment(value: str | None, flag: str):
    if value is None:
        return None
    moment = parse_aware_datetime(value)
    if moment is None:
        raise CommandError(f"{flag} takes ISO 8601 with a zone, e.g. 2026-01-31T00:00:00Z")
    return moment


class Command(BaseCommand):
    help = "Replay deliveries (dead by default) by tenant, submission, destination and time."

    def add_arguments(self, parser):
        parser.add_argument("--tenant")
        parser.add_argument("--submission", action="append", default=[], metavar="ID")
        parser.add_argument(
            "--destination",
            metavar="NAME",
            help="Only this destination (needs --tenant); also creates deliveries "
            "for matching submissions that never had one.",
        )
        parser.add_argument("--status", default="dead", choices=sorted(services.REPLAY_STATUSES))
        parser.add_argument("--since", help="Submissions received at or after (ISO 8601).")
        parser.add_argument("--until", help="Submissions received before (ISO 8601).")
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")
        add_json_flag(parser)

    def handle(self, *args, **options):
        tenant = None
        if options["tenant"]:
            tenant = tenant_named(options["tenant"])
        destination = None
        if options["destination"]:
            if tenant is None:
                raise CommandError("--destination needs --tenant (names are per tenant)")
            destination = require(
                selectors.destination_get(tenant=tenant, name=options["destination"]),
                f"No destination {options['destination']!r} for {tenant.id}.",
            )
        arguments = dict(
            tenant=tenant,
            submission_ids=options["submission"],
            destination=destination,
            status=options["status"],
            since=_moment(options["since"], "--since"),
            until=_moment(options["until"], "--until"),
        )
        counted = services.deliveries_replay(**arguments, dry_run=True)
        result = counted
        if not options["dry_run"]:
            total = counted.requeued + counted.created
            bar = (
                ProgressBar(self.stderr, total, "replaying")
                if total and not options["json"]
                else None
            )
            result = services.deliveries_replay(**arguments, progress=bar.advance if bar else None)
        data = {"requeued": result.requeued, "created": result.created, "dry_run": result.dry_run}
        verb = "would requeue" if result.dry_run else "requeued"
        text = f"{verb} {result.requeued} deliveries"
        if destination is not None:
            text += f", {'would create' if result.dry_run else 'created'} {result.created}"
        if options["json"]:
            self.stdout.write(json.dumps(data))
        else:
            self.stdout.write(text + ".")
