"""Settings, read from the environment (and an optional `.env` file) with django-environ.

Every setting an operator may change is listed with a one-line comment in `.env.example`.
"""

import os
from pathlib import Path

import environ

from core.redis_client import url_with_password

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE, overwrite=False)

# Where the embedded default keeps its SQLite database and file broker.
VAR_DIR = Path(env.str("FORMBRIDGE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Prometheus: every process writes its metrics to files here and /metrics adds them up. Must be
# in the environment before prometheus_client is first imported (core.metrics).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# When set, /metrics wants `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Production secrets have no default: a missing one fails loudly at start-up.
SECRET_KEY = env.str("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Kernel first, shell last: core <- tenants <- reporting <- delivery <- ingest <- sources,
    # webforms <- formbridge (docs/ARCHITECTURE.md; tests/test_imports.py holds the order).
    "tenants",
    "reporting",
    "delivery",
    "ingest",
    "sources",
    "webforms",
    "formbridge",
]

MIDDLEWARE = [
    "core.logs.RequestIdMiddleware",
    "formbridge.middleware.RefuseUnstorableUrlMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The admin's and the API docs' static files, served by the app itself (no CDN, no nginx).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The JSON API authenticates by signature or key, not cookies: formbridge.wsgi serves it with only
# these (see there).
API_PATH_PREFIX = "/v1/"
API_MIDDLEWARE = [
    "core.logs.RequestIdMiddleware",
    "formbridge.middleware.RefuseUnstorableUrlMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

# The orchestrator's probes, answered whatever Host they carry (see formbridge.wsgi).
PROBE_PATHS = ("/healthz", "/readyz")
PROBE_MIDDLEWARE = ["core.logs.RequestIdMiddleware"]

ROOT_URLCONF = "formbridge.urls"
WSGI_APPLICATION = "formbridge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The admin pages FormBridge adds (secret shown once, dashboard, test send).
        "DIRS": [BASE_DIR / "formbridge" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL when DATABASE_URL is set, else SQLite (WAL) under var/. ---
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'formbridge.sqlite3'}")
}
# The password apart from the URL (on ECS, a secret injected from Secrets Manager) wins.
if env.str("DATABASE_PASSWORD", default=""):
    DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
# Persistent connections were a 4x lever on ingest throughput.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
# A health check costs a SELECT 1 per request; off, a dead connection fails one request and is
# replaced.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Repeated queries are prepared after a few runs: planning was up to a third of a read
    # request's database time. Turn off behind a transaction-mode pooler (PgBouncer < 1.21).
    _prepare_threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    # Added to what the URL's query gave (sslmode=require on RDS), never in its place.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "server_side_binding": _prepare_threshold > 0,
            "prepare_threshold": _prepare_threshold or None,
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        # Take the write lock at BEGIN so concurrent writers queue instead of failing.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests on a file too, as `make run` uses: an in-memory database shares one cache between
    # threads and fails concurrent writers at once ("table is locked") instead of queueing them.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}.test"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis (rate limits, quotas) and the Celery broker. ---
# Empty REDIS_URL: counters live in process memory (fine for the embedded single-box default).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
# ElastiCache's AUTH token apart from the URLs (on ECS, a secret), put into both.
_redis_password = env.str("REDIS_PASSWORD", default="")
if _redis_password:
    REDIS_URL = url_with_password(REDIS_URL, _redis_password)
    CELERY_BROKER_URL = url_with_password(CELERY_BROKER_URL, _redis_password)
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Broadcast (remote control) state; kombu's default is ./control in the working dir.
        "control_folder": str(_broker_dir / "control"),
    }

# A message is only a wake-up; the database holds the work (see delivery.wakeup).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-deliveries": {
        "task": "delivery.dispatch_due",
        "schedule": 1.0,
        # Stale ticks are dropped rather than piling up while workers are down.
        "options": {"expires": 5},
    },
    "forget-seen-signatures": {
        "task": "ingest.forget_seen_signatures",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "mirror-delivery-attempts": {
        "task": "delivery.mirror_attempts",
        "schedule": 10.0,
        "options": {"expires": 9},
    },
    "ensure-mirrors": {
        "task": "delivery.ensure_mirrors",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "purge-expired-submissions": {
        "task": "ingest.purge_expired",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
}

# --- Tracing: OTEL_* configure it (core.tracing); beat's periodic ticks keep this share. ---
TRACING_PERIODIC_TASK_RATIO = env.float("TRACING_PERIODIC_TASK_RATIO", default=0.01)

# --- CloudWatch metrics (AWS): the delivery backlog as embedded-metric-format log lines. ---
# Empty: not published (/metrics serves the same figures to Prometheus).
CLOUDWATCH_METRICS_NAMESPACE = env.str("CLOUDWATCH_METRICS_NAMESPACE", default="")
# The Environment dimension of each metric (the stack's Environment parameter).
CLOUDWATCH_METRICS_ENVIRONMENT = env.str("CLOUDWATCH_METRICS_ENVIRONMENT", default="production")
CLOUDWATCH_METRICS_PERIOD_SECONDS = env.int("CLOUDWATCH_METRICS_PERIOD_SECONDS", default=60)
if CLOUDWATCH_METRICS_NAMESPACE:
    CELERY_BEAT_SCHEDULE["publish-backlog-metrics"] = {
        "task": "delivery.publish_backlog",
        "schedule": float(CLOUDWATCH_METRICS_PERIOD_SECONDS),
        "options": {"expires": CLOUDWATCH_METRICS_PERIOD_SECONDS * 0.9},
        # A worker runs it: what beat was configured with travels with the task.
        "kwargs": {
            "namespace": CLOUDWATCH_METRICS_NAMESPACE,
            "environment": CLOUDWATCH_METRICS_ENVIRONMENT,
            "period_seconds": CLOUDWATCH_METRICS_PERIOD_SECONDS,
        },
    }

# --- Encryption at rest: Fernet keys, newest first (older keys still decrypt, for rotation). ---
FORMBRIDGE_ENCRYPTION_KEYS = env.list("FORMBRIDGE_ENCRYPTION_KEYS")

# --- Ingest contract. ---
# Accepted clock skew between the signer's X-Timestamp and our clock, either way.
INGEST_TIMESTAMP_TOLERANCE_SECONDS = env.int("INGEST_TIMESTAMP_TOLERANCE_SECONDS", default=300)
# Default per-tenant body limit (a tenant may override it).
TENANT_DEFAULT_MAX_PAYLOAD_BYTES = env.int("TENANT_DEFAULT_MAX_PAYLOAD_BYTES", default=1024 * 1024)
# Files a signed multipart ingest may carry (a WordPress form's uploads): how many, how large.
INGEST_MAX_FILES = env.int("INGEST_MAX_FILES", default=10)
INGEST_MAX_FILE_BYTES = env.int("INGEST_MAX_FILE_BYTES", default=10 * 1024 * 1024)
# Default per-tenant request rate (requests/second) and daily quota; 0 means unlimited.
TENANT_DEFAULT_RATE_LIMIT = env.int("TENANT_DEFAULT_RATE_LIMIT", default=0)
TENANT_DEFAULT_DAILY_QUOTA = env.int("TENANT_DEFAULT_DAILY_QUOTA", default=0)
# Default retention of submissions, in days.
TENANT_DEFAULT_RETENTION_DAYS = env.int("TENANT_DEFAULT_RETENTION_DAYS", default=30)
# Seconds a web process may reuse a tenant's row and secrets before re-reading them.
TENANT_CACHE_SECONDS = env.float("TENANT_CACHE_SECONDS", default=5.0)
# How long a rotated signing secret keeps working.
SIGNING_SECRET_ROTATION_OVERLAP_HOURS = env.int("SIGNING_SECRET_ROTATION_OVERLAP_HOURS", default=24)
SOURCE_SECRET_ROTATION_OVERLAP_HOURS = env.int("SOURCE_SECRET_ROTATION_OVERLAP_HOURS", default=24)
DESTINATION_SECRET_ROTATION_OVERLAP_HOURS = env.int(
    "DESTINATION_SECRET_ROTATION_OVERLAP_HOURS", default=24
)
# The origin clients reach FormBridge at (https://hooks.example.com): source URLs and form
# action URLs are built on it, and Twilio's signature covers it. Empty: taken from each request
# (and http://127.0.0.1:$PORT where there is none, as in manage.py).
PUBLIC_URL = env.str("PUBLIC_URL", default="")
PORT = env.int("PORT", default=8000)  # where `make run` serves
# Number of trusted reverse proxies in front of the app (0: use REMOTE_ADDR as the client IP).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Django's own cap on bodies it buffers (forms, admin); ingest enforces the tenant limit itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

# --- Stored files ---
# Uploaded files (and, later, payloads over the threshold) go through Django's storage API:
# this folder by default.
ATTACHMENTS_DIR = env.str("ATTACHMENTS_DIR", default=str(VAR_DIR / "attachments"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": ATTACHMENTS_DIR},
    },
}

# In S3 instead (django-storages, credentials from the usual AWS chain: the task role, or
# AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), when a bucket is named.
ATTACHMENTS_S3_BUCKET = env.str("ATTACHMENTS_S3_BUCKET", default="")
if ATTACHMENTS_S3_BUCKET:
    # Server-side encryption of every object: AES256 (S3-managed keys) or aws:kms.
    _sse = env.str("ATTACHMENTS_S3_SSE", default="AES256")
    _sse_parameters = {"ServerSideEncryption": _sse}
    if _sse == "aws:kms" and env.str("ATTACHMENTS_S3_KMS_KEY_ID", default=""):
        _sse_parameters["SSEKMSKeyId"] = env.str("ATTACHMENTS_S3_KMS_KEY_ID")
    STORAGES["attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENTS_S3_BUCKET,
            # Key prefix inside the bucket, e.g. formbridge/.
            "location": env.str("ATTACHMENTS_S3_PREFIX", default=""),
            "region_name": env.str("ATTACHMENTS_S3_REGION", default="") or None,
            # An S3-compatible endpoint (MinIO, a local test server); empty: AWS's own.
            "endpoint_url": env.str("ATTACHMENTS_S3_ENDPOINT_URL", default="") or None,
            "object_parameters": _sse_parameters,
            "default_acl": None,  # private: the bucket's policy, never public-read
            "file_overwrite": False,  # a second object of the same name never replaces one
        },
    }

# Payloads larger than this (bytes of JSON) are kept in the attachments storage, not the row.
PAYLOAD_INLINE_MAX_BYTES = env.int("PAYLOAD_INLINE_MAX_BYTES", default=256 * 1024)
# How long a download link to a stored file or payload, as destinations receive it, works.
FILE_LINK_TTL_SECONDS = env.int("FILE_LINK_TTL_SECONDS", default=7 * 24 * 3600)

# --- Browser forms (/f/<form_key>) ---
# Where each captcha provider verifies a token (a setting, so tests point at a local verifier).
TURNSTILE_VERIFY_URL = env.str(
    "TURNSTILE_VERIFY_URL", default="https://challenges.cloudflare.com/turnstile/v0/siteverify"
)
HCAPTCHA_VERIFY_URL = env.str("HCAPTCHA_VERIFY_URL", default="https://api.hcaptcha.com/siteverify")
RECAPTCHA_VERIFY_URL = env.str(
    "RECAPTCHA_VERIFY_URL", default="https://www.google.com/recaptcha/api/siteverify"
)
# Seconds a browser post waits on the captcha provider before the post is kept as spam.
CAPTCHA_TIMEOUT_SECONDS = env.float("CAPTCHA_TIMEOUT_SECONDS", default=5.0)

# --- Delivery ---
# Networks destinations may reach although private (CIDRs, comma-separated), e.g. 10.0.5.0/24.
DELIVERY_ALLOWED_NETWORKS = env.list("DELIVERY_ALLOWED_NETWORKS", default=[])
# Deliveries one worker claims and sends concurrently per batch.
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=200)
# Outbound HTTP requests in flight at once per worker process (one asyncio loop sends them).
DELIVERY_HTTP_CONCURRENCY = env.int("DELIVERY_HTTP_CONCURRENCY", default=64)
# Seconds a claimed delivery's lease outlasts its destination's timeouts (time to record the
# outcome); a worker that dies mid-flight delays its deliveries by about this much.
DELIVERY_LEASE_MARGIN_SECONDS = env.float("DELIVERY_LEASE_MARGIN_SECONDS", default=30.0)
# Consecutive failures that open a destination's circuit breaker, and how long it stays open.
DELIVERY_CIRCUIT_FAILURES = env.int("DELIVERY_CIRCUIT_FAILURES", default=10)
DELIVERY_CIRCUIT_COOLDOWN_SECONDS = env.int("DELIVERY_CIRCUIT_COOLDOWN_SECONDS", default=60)
# A destination failing without a success for this long is disabled.
DELIVERY_DISABLE_AFTER_DAYS = env.float("DELIVERY_DISABLE_AFTER_DAYS", default=5.0)

# --- Secret references (aws-sm://<arn>#<key> in place of a stored secret) ---
# Seconds a resolved reference is reused; a credential that is refused is fetched again at once.
SECRET_REF_CACHE_SECONDS = env.float("SECRET_REF_CACHE_SECONDS", default=60.0)
# A tenant's references name secrets under <prefix>/<tenant id>/ (and what an operator grants).
SECRET_REFS_PREFIX = env.str("SECRET_REFS_PREFIX", default="formbridge/refs")
# Read references through this role, tagged with the tenant (IAM then binds reads to its path).
SECRET_REFS_ROLE_ARN = env.str("SECRET_REFS_ROLE_ARN", default="")

# --- Tenant-written code (templates, mappings): evaluated in child processes (core.sandbox) ---
# Children per process (web worker, Celery pool process), started on first need.
SANDBOX_PROCESSES = env.int("SANDBOX_PROCESSES", default=2)
# CPU time one evaluation may use; a cheap template takes well under a millisecond.
SANDBOX_CPU_SECONDS = env.float("SANDBOX_CPU_SECONDS", default=0.25)
# Wall time before the child is killed (a step in C no timer interrupts, or a starved machine).
SANDBOX_WALL_SECONDS = env.float("SANDBOX_WALL_SECONDS", default=0.75)
# Memory a child may allocate beyond what it holds at start.
SANDBOX_MEMORY_BYTES = env.int("SANDBOX_MEMORY_BYTES", default=256 * 1024 * 1024)
# How much lower a child's CPU priority is than its parent's (os.nice): under contention, the
# ingest and delivery work of every tenant runs first.
SANDBOX_NICENESS = env.int("SANDBOX_NICENESS", default=10)
# What a child imports before its memory is capped.
SANDBOX_PRELOAD = ("delivery.message_templates:render_here", "delivery.mapping:render_here")

# --- Connectors ---
# Vendor API bases: settings, so tests and proxies point them elsewhere.
SLACK_API_BASE = env.str("SLACK_API_BASE", default="https://slack.com")
HUBSPOT_API_BASE = env.str("HUBSPOT_API_BASE", default="https://api.hubapi.com")
HUBSPOT_FORMS_API_BASE = env.str("HUBSPOT_FORMS_API_BASE", default="https://api.hsforms.com")
# The login URL a Salesforce destination uses when its config names none.
SALESFORCE_LOGIN_URL = env.str("SALESFORCE_LOGIN_URL", default="https://login.salesforce.com")
SALESFORCE_API_VERSION = env.str("SALESFORCE_API_VERSION", default="v62.0")
# The SMTP relay of e-mail destinations (django-environ's form: smtp+tls://user:pass@host:587);
# a destination's config.smtp_url overrides it.
EMAIL_URL = env.str("EMAIL_URL", default="")
# The From address of e-mail destinations that set none.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="FormBridge <formbridge@localhost>")
# The operator's relay is shared: recipients of one message, and of one tenant per hour.
RELAY_MAX_RECIPIENTS = env.int("RELAY_MAX_RECIPIENTS", default=10)
RELAY_RECIPIENTS_PER_HOUR = env.int("RELAY_RECIPIENTS_PER_HOUR", default=500)
# The DynamoDB mirror for every tenant: a table name here gives each tenant a `mirror`
# destination writing to it (empty: only tenants that add a dynamodb destination are mirrored).
DYNAMODB_MIRROR_TABLE = env.str("DYNAMODB_MIRROR_TABLE", default="")
# The account of FormBridge's own AWS credentials, to name a bus or table given by name as its
# ARN for a tenant's grants; empty: asked of STS (GetCallerIdentity) once per process.
AWS_ACCOUNT_ID = env.str("AWS_ACCOUNT_ID", default="")
# Write shards per tenant in the mirror table (recorded per tenant on its first write).
DYNAMODB_MIRROR_SHARDS = env.int("DYNAMODB_MIRROR_SHARDS", default=8)

REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "core.http_errors.drf_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.BoundedJSONParser"],
}
# The largest JSON body the management API reads (destinations, forms, sources, schemas).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)

SPECTACULAR_SETTINGS = {
    "TITLE": "FormBridge API",
    "DESCRIPTION": (
        "Ingest signed form submissions and API events, read them back, pull them from an "
        "inbox, and manage where they are delivered. Every error is "
        '`{"error": {"code": "<snake_case>", "message": "..."}}` with a stable code. Every time '
        "in a response is UTC ISO 8601 with milliseconds and Z (2026-01-31T09:30:00.123Z)."
    ),
    "VERSION": "1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ingest.openapi.add_ingest_endpoints",
        "sources.openapi.add_source_receive",
        "webforms.openapi.add_form_post",
    ],
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve from the installed apps without a collectstatic step (make run has none).
WHITENOISE_USE_FINDERS = True

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json: one JSON object per line (for log shippers); plain: human-readable lines.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logs.ContextFilter"}},
    "formatters": {
        "json": {"()": "core.logs.Formatter"},
        "message": {"format": "%(message)s"},
        "plain": {
            "()": "core.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        },
        # Celery swaps sys.stdout for a logger in its workers; EMF lines must bypass it.
        "emf": {
            "class": "logging.StreamHandler",
            "formatter": "message",
            "stream": "ext://sys.__stdout__",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A line per 4xx; refusals are logged once, with their code, by formbridge.ingest.
        "django.request": {"level": "ERROR"},
        # One line per task run (the dispatcher ticks every second) drowns everything else.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
        # AWS's SDK logs whole requests and answers at DEBUG (bodies that may echo a secret).
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        # CloudWatch EMF lines (core.emf): the bare JSON object on the real stdout.
        "formbridge.emf": {"handlers": ["emf"], "level": "INFO", "propagate": False},
    },
}
