"""manage.py erase: erase submissions' personal data on request (GDPR Art. 17)."""

import getpass
import json

from django.core.management.base import BaseCommand, CommandError

from core.cli import add_json_flag
from core.errors import Invalid
from ingest.erasure import submissions_erase, submissions_matching
from tenants.cli import tenant_named


def _field(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise CommandError("--field takes NAME=VALUE, e.g. email=jane@example.com")
    return name, value


class Command(BaseCommand):
    help = (
        "Erase a tenant's submissions: one by id, or every one whose payload field has a value. "
        "Payload, attachments, IP and the bodies of their attempts go; the ids stay, so a resend "
        "is a duplicate, not a new lead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--submission", metavar="ID", help="One submission_id.")
        which.add_argument(
            "--field",
            metavar="NAME=VALUE",
            help="A top-level payload field, compared without case (email=jane@example.com).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List, erase nothing.")
        add_json_flag(parser)

    def handle(self, *args, **options):
        tenant = tenant_named(options["tenant"])
        try:
            matching = submissions_matching(
                tenant=tenant,
                submission_id=options["submission"],
                field=_field(options["field"]) if options["field"] else None,
            )
        except Invalid as exc:
            raise CommandError(exc.message) from None
        result = submissions_erase(
            tenant=tenant,
            submissions=matching,
            actor=f"operator {getpass.getuser()} (manage.py erase)",
            dry_run=options["dry_run"],
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "dry_run": result.dry_run,
                        "submission_ids": result.submission_ids,
                        "deliveries_cancelled": result.deliveries_cancelled,
                        "attempts_cleared": result.attempts_cleared,
                    }
                )
            )
            return
        verb = "would erase" if result.dry_run else "erased"
        self.stdout.write(
            f"{verb} {len(result.submission_ids)} submission(s) of {tenant.id}"
            + "".join(f"\n  {sid}" for sid in result.submission_ids)
        )
