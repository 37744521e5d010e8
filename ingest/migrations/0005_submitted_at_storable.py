"""Rows stored before submitted_at was bounded: a time whose UTC value left years 1-9999 cannot be
read back (every read of the row failed), so it becomes the time the submission was received."""

from django.db import migrations

EARLIEST = "0001-01-02T00:00:00+00:00"
LATEST = "9999-12-30T00:00:00+00:00"


def clamp(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # on SQLite such a time could not be stored in the first place
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ingest_submission SET submitted_at = received_at "
            "WHERE submitted_at < %s OR submitted_at > %s",
            [EARLIEST, LATEST],
        )


class Migration(migrations.Migration):
    dependencies = [("ingest", "0004_seen_signature_submission_id")]

    operations = [migrations.RunPython(clamp, migrations.RunPython.noop)]
