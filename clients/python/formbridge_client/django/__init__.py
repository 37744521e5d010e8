"""A Django site's outbox for FormBridge: `outbox_submit()` writes the submission in the site's
own transaction, and `manage.py formbridge_flush` (or the Celery task, or the on-commit hook)
sends what is due. A lead saved with the site's data is sent, or waits, never lost."""


def __getattr__(name: str):
    # Imported on first use: the package is named in INSTALLED_APPS, before models can load.
    if name in ("outbox_submit", "flush"):
        from . import outbox

        return getattr(outbox, name)
    raise AttributeError(name)
