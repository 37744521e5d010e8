"""The delivery table is a queue inside a history: every claim, lease, settle and ack leaves a
dead row version whose index entries sit at the head of the due and inbox indexes, where every
claim and lease starts reading. PostgreSQL's default waits for 20 % of the table to be dead
before vacuuming it: at 10 M deliveries, 2 M dead versions, and a lease read 1,500 index pages
of them to find 10 live rows (make bench-scale). Vacuum it at 1 % instead, and analyze at
0.5 %, so the planner knows how many rows wait. PostgreSQL only (SQLite has no such setting).
"""

from django.db import migrations

TABLE = "delivery_delivery"
SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_vacuum_threshold": "10000",
    "autovacuum_analyze_scale_factor": "0.005",
    "autovacuum_analyze_threshold": "10000",
}


def tune(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        pairs = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
        schema_editor.execute(f"ALTER TABLE {TABLE} SET ({pairs})")


def untune(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0012_delivery_inbox_waiting"),
    ]

    operations = [migrations.RunPython(tune, untune, elidable=False)]
