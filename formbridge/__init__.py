"""FormBridge: ingest signed form submissions and events, fan them out to destinations."""

from core import __version__

# Load the Celery app whenever Django starts so that shared tasks bind to it.
from .celery import app as celery_app

__all__ = ("__version__", "celery_app")
