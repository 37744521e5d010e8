"""manage.py formbridge_outbox status|requeue: how the outbox stands; parked rows sent again."""

from django.core.management.base import BaseCommand

from formbridge_client.django.models import OutboxMessage
from formbridge_client.django.outbox import requeue_parked, status


class Command(BaseCommand):
    help = "Show the outbox (pending, parked, the oldest pending's age), or requeue parked rows."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "requeue"])

    def handle(self, *args, action, **options):
        if action == "requeue":
            count = requeue_parked(OutboxMessage.objects.all())
            self.stdout.write(f"requeued {count} parked submission(s)")
            return
        now = status()
        oldest = (
            f"{now.oldest_pending_seconds:.0f} s" if now.oldest_pending_seconds is not None else "-"
        )
        self.stdout.write(
            f"pending {now.pending}, parked {now.parked}, sent {now.sent}, oldest pending {oldest}"
        )
