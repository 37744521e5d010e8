"""Credentials kept apart from the URLs, as ECS injects them from Secrets Manager."""

from __future__ import annotations

from core.redis_client import url_with_password
from tests.settings_probe import settings_under


def test_database_password_wins_over_the_urls():
    shown = settings_under(
        {
            "DATABASE_URL": "postgres://formbridge@db.internal:5432/formbridge?sslmode=require",
            "DATABASE_PASSWORD": "s3cr3t/with@odd",
        },
        "DATABASES",
    )
    database = shown["DATABASES"]["default"]
    assert (database["USER"], database["PASSWORD"], database["HOST"]) == (
        "formbridge",
        "s3cr3t/with@odd",
        "db.internal",
    )
    assert database["OPTIONS"]["sslmode"] == "require"


def test_redis_password_goes_into_both_redis_urls_and_nowhere_else():
    shown = settings_under(
        {
            "REDIS_URL": "rediss://cache.internal:6379/0?ssl_cert_reqs=required",
            "CELERY_BROKER_URL": "rediss://cache.internal:6379/1?ssl_cert_reqs=required",
            "REDIS_PASSWORD": "tok@en",
        },
        "REDIS_URL",
        "CELERY_BROKER_URL",
    )
    assert shown == {
        "REDIS_URL": "rediss://:tok%40en@cache.internal:6379/0?ssl_cert_reqs=required",
        "CELERY_BROKER_URL": "rediss://:tok%40en@cache.internal:6379/1?ssl_cert_reqs=required",
    }


def test_the_password_reaches_redis_py_and_kombu_decoded():
    import redis
    from kombu.utils.url import url_to_parts

    url = url_with_password("rediss://cache.internal:6379/1?ssl_cert_reqs=required", "a/b@c:d")
    assert redis.connection.parse_url(url)["password"] == "a/b@c:d"
    assert url_to_parts(url).password == "a/b@c:d"
    assert url_with_password("filesystem://", "x") == "filesystem://"


def test_the_celery_app_connects_with_the_password_too():
    """Celery reads CELERY_BROKER_URL from the environment before its settings: the worker and
    beat on ECS used the URL without the AUTH token and got "Authentication required" (the
    deploy rehearsal found it; Django's own setting had the password all along)."""
    import json
    import os
    import subprocess
    import sys

    from tests.settings_probe import ROOT

    script = (
        "import json; from formbridge.celery import app; print(json.dumps(app.conf.broker_url))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "formbridge.settings",
        "CELERY_BROKER_URL": "rediss://cache.internal:6379/1?ssl_cert_reqs=required",
        "REDIS_PASSWORD": "tok@en",
    }
    shown = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    broker = json.loads(shown.stdout.strip().splitlines()[-1])
    assert broker == "rediss://:tok%40en@cache.internal:6379/1?ssl_cert_reqs=required"
