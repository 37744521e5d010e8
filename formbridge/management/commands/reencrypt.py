"""manage.py reencrypt: encrypt every stored secret again with the newest Fernet key.

Rotating FORMBRIDGE_ENCRYPTION_KEYS: put a new key first and restart (new secrets use it, old
ones still decrypt with the old key), run this, then drop the old key. Secrets are the columns
whose names end in `_encrypted`, in every installed app, rewritten in one transaction per
model; a value no listed key decrypts stops the run and rolls that model back (the models done
before it keep their new values, which the new key reads). Running it twice is harmless.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from core import crypto

SUFFIX = "_encrypted"


def encrypted_fields() -> list[tuple[type, list[str]]]:
    found = []
    for model in apps.get_models():
        names = [f.attname for f in model._meta.concrete_fields if f.attname.endswith(SUFFIX)]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = "Encrypt every stored secret again with the first FORMBRIDGE_ENCRYPTION_KEYS key."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; write nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        total = 0
        for model, names in encrypted_fields():
            changed = 0
            with transaction.atomic():
                for row in model.objects.only("pk", *names).iterator(chunk_size=500):
                    updates = {
                        name: crypto.reencrypt(getattr(row, name))
                        for name in names
                        if getattr(row, name)
                    }
                    if updates and not dry_run:
                        model.objects.filter(pk=row.pk).update(**updates)
                    changed += bool(updates)
            label = model._meta.label
            self.stdout.write(
                f"{label}: {changed} row(s) {'to re-encrypt' if dry_run else 're-encrypted'}"
            )
            total += changed
        self.stdout.write(f"{total} row(s) in all.")
