"""Fixtures shared by the end-to-end tests: a real Celery worker and beat on the test database,
and Debian's headless Chromium."""

from __future__ import annotations

import os
import shutil

import pytest
import redis

from tests.e2e.stack import ROOT, TEST_BROKER_URL, process_env, start_celery, stop


@pytest.fixture
def celery_stack(tmp_path, settings):
    settings.DELIVERY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    redis.Redis.from_url(TEST_BROKER_URL).flushdb()  # no stale wake-ups from other tests
    env = process_env()
    log = tmp_path / "celery.log"
    worker = start_celery(
        "worker", env, log, "--concurrency", "2", "--without-gossip", "--without-mingle"
    )
    beat = start_celery("beat", env, log, "--schedule", str(tmp_path / "beat-schedule"))
    yield log
    stop(beat)
    stop(worker)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture
def browser():
    """Debian's headless Chromium through Playwright (its own browser download fails here)."""
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # plain blocking calls between its steps.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
