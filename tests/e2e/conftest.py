"""Fixtures shared by the end-to-end tests: a real Celery worker and beat on the test database."""

from __future__ import annotations

import pytest
import redis

from tests.e2e.stack import TEST_BROKER_URL, process_env, start_celery, stop


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
