"""manage.py formbridge_flush: send the outbox's due submissions to FormBridge (cron it)."""

from django.core.management.base import BaseCommand

from formbridge_client.django.outbox import flush


class Command(BaseCommand):
    help = "Send due outbox submissions to FormBridge; run it from cron every minute."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many rows.")
        parser.add_argument(
            "--now",
            action="store_true",
            help="Send every pending row, also those backing off (FormBridge is back).",
        )

    def handle(self, *args, limit, now, **options):
        result = flush(limit=limit, now=now)
        self.stdout.write(f"sent {result.sent}, retrying {result.retrying}, parked {result.parked}")
