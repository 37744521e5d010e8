from django.db import migrations, models

from core.migration_operations import AddIndexOnline, RemoveIndexOnline


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY run outside a transaction (core/migration_operations.py).
    atomic = False

    dependencies = [
        ("delivery", "0011_delivery_due_in_claim_order"),
    ]

    operations = [
        # The new index first: an inbox read is never without one.
        AddIndexOnline(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("next_attempt_at__isnull", True), ("status", "pending")),
                fields=["destination", "created_at", "id"],
                name="delivery_inbox_waiting",
            ),
        ),
        RemoveIndexOnline(
            model_name="delivery",
            name="delivery_open_by_destination",
        ),
    ]
