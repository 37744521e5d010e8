"""Destinations saved before references and AWS targets were bound to their tenant keep working:
each tenant is granted exactly what its live destinations already name outside its own space
(a secret reference outside <SECRET_REFS_PREFIX>/<tenant>/, an AWS queue, bus, bucket prefix or
table reached with FormBridge's own credentials). The grants are printed for the operator to
review (manage.py tenants grants <tenant>; revoke-secret / revoke-target withdraw one)."""

from django.conf import settings
from django.db import migrations

from tenants.upgrade_grants import grant_on_upgrade, outside_reference


def _target_grant(kind: str, config: dict, tenant_id: str) -> str | None:
    if config.get("access_key_id"):
        return None
    if kind == "sqs":
        account, queue = config["queue_url"].rstrip("/").split("/")[-2:]
        return f"arn:*:sqs:*:{account}:{queue}"
    if kind == "eventbridge":
        bus = config["event_bus"]
        return bus if bus.startswith("arn:") else f"arn:*:events:*:*:event-bus/{bus}"
    if kind == "dynamodb":
        if config["table"] == settings.DYNAMODB_MIRROR_TABLE:
            return None  # every tenant may write its own partition of the operator's mirror
        return f"arn:*:dynamodb:*:*:table/{config['table']}"
    if kind == "s3":
        from delivery.connectors.s3 import DEFAULT_KEY_TEMPLATE, known_prefix

        prefix = known_prefix(config.get("key_template", DEFAULT_KEY_TEMPLATE), tenant_id)
        return f"arn:*:s3:::{config['bucket']}/{prefix}*"
    return None


def grant_existing(apps, schema_editor) -> None:
    Destination = apps.get_model("delivery", "Destination")
    granted: dict[str, dict[str, set[str]]] = {}
    for destination in Destination.objects.filter(deleted_at__isnull=True).iterator():
        grants = granted.setdefault(
            destination.tenant_id, {"secret_grants": set(), "target_grants": set()}
        )
        secret = outside_reference(destination.auth_secret_encrypted, destination.tenant_id)
        if secret:
            grants["secret_grants"].add(secret)
        target = _target_grant(destination.kind, destination.config, destination.tenant_id)
        if target:
            grants["target_grants"].add(target)
    grant_on_upgrade(apps.get_model("tenants", "Tenant"), granted)


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0013_delivery_autovacuum"),
        ("tenants", "0003_tenant_grants"),
    ]

    operations = [migrations.RunPython(grant_existing, migrations.RunPython.noop)]
