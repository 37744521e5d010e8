"""Sources saved before references were bound to their tenant keep verifying: each tenant is
granted exactly the secrets its live sources already name outside its own path (printed for the
operator to review; manage.py tenants revoke-secret withdraws one)."""

from django.db import migrations

from core import crypto, secret_refs


def grant_existing(apps, schema_editor) -> None:
    Tenant = apps.get_model("tenants", "Tenant")
    SourceSecret = apps.get_model("sources", "SourceSecret")
    granted: dict[str, set[str]] = {}
    rows = SourceSecret.objects.filter(source__deleted_at__isnull=True).select_related("source")
    for row in rows.iterator():
        stored = crypto.decrypt(row.secret_encrypted)
        if not secret_refs.is_reference(stored):
            continue
        tenant_id = row.source.tenant_id
        secret_id = stored[len(secret_refs.SCHEME) :].split("#", 1)[0]
        if not secret_refs.binding(tenant_id).allows(secret_id):
            granted.setdefault(tenant_id, set()).add(secret_id)
    for tenant in Tenant.objects.filter(id__in=list(granted)):
        tenant.secret_grants = sorted(set(tenant.secret_grants) | granted[tenant.id])
        tenant.save(update_fields=["secret_grants"])
        print(f"\n  {tenant.id}: granted the secrets its sources use: {sorted(granted[tenant.id])}")


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0001_initial"),
        ("tenants", "0003_tenant_grants"),
    ]

    operations = [migrations.RunPython(grant_existing, migrations.RunPython.noop)]
