"""FormBridge: ingest signed form submissions and events, fan them out to destinations."""

__version__ = "0.1.0"

# Load the Celery app whenever Django starts so that shared tasks bind to it.
from .celery import app as celery_app

__all__ = ("__version__", "celery_app")
