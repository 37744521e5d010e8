"""A small Django site that saves leads and sends them to FormBridge through the outbox."""

import os
from pathlib import Path

BASE = Path(os.environ.get("SITE_DIR", Path(__file__).resolve().parent))
SECRET_KEY = "test-site-not-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "formbridge_client.django",
    "tests.site.leads",
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE / "site.sqlite3")}
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMBRIDGE_URL = os.environ.get("FORMBRIDGE_URL", "http://127.0.0.1:8000")
FORMBRIDGE_TENANT_ID = os.environ.get("FORMBRIDGE_TENANT_ID", "t_demo")
FORMBRIDGE_SECRET = os.environ.get("FORMBRIDGE_SECRET", "")
FORMBRIDGE_TIMEOUT = 2.0
