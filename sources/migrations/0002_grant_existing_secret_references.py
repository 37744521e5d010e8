"""Sources saved before references were bound to their tenant keep verifying: each tenant is
granted exactly the secrets its live sources already name outside its own path (printed for the
operator to review; manage.py tenants revoke-secret withdraws one)."""

from django.db import migrations

from tenants.upgrade_grants import grant_on_upgrade, outside_reference


def grant_existing(apps, schema_editor) -> None:
    SourceSecret = apps.get_model("sources", "SourceSecret")
    granted: dict[str, dict[str, set[str]]] = {}
    rows = SourceSecret.objects.filter(source__deleted_at__isnull=True).select_related("source")
    for row in rows.iterator():
        secret = outside_reference(row.secret_encrypted, row.source.tenant_id)
        if secret:
            granted.setdefault(row.source.tenant_id, {"secret_grants": set()})
            granted[row.source.tenant_id]["secret_grants"].add(secret)
    grant_on_upgrade(apps.get_model("tenants", "Tenant"), granted)


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0001_initial"),
        ("tenants", "0003_tenant_grants"),
    ]

    operations = [migrations.RunPython(grant_existing, migrations.RunPython.noop)]
