"""The retry policy is a pure function: schedule, jitter, Retry-After, classification."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from delivery.models import AttemptOutcome
from delivery.retry import (
    DEFAULT_SCHEDULE,
    MAX_RETRY_AFTER_SECONDS,
    classify_status,
    parse_retry_after,
    retry_delay,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.value


@pytest.mark.parametrize(
    ("failed", "expected"),
    [(1, 5), (2, 300), (3, 1800), (4, 7200), (5, 18000), (6, 36000), (7, 36000)],
)
def test_default_schedule_without_jitter(failed, expected):
    assert retry_delay(failed_attempts=failed, rng=FixedRandom(0.5)) == pytest.approx(expected)


def test_default_schedule_gives_up_after_eight_attempts():
    assert DEFAULT_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert retry_delay(failed_attempts=8) is None


@pytest.mark.parametrize("failed", range(1, 8))
def test_jitter_stays_within_twenty_percent(failed):
    base = DEFAULT_SCHEDULE[failed - 1]
    low = retry_delay(failed_attempts=failed, rng=FixedRandom(0.0))
    high = retry_delay(failed_attempts=failed, rng=FixedRandom(1.0))
    samples = [retry_delay(failed_attempts=failed, rng=random.Random(seed)) for seed in range(200)]

    assert low == pytest.approx(base * 0.8)
    assert high == pytest.approx(base * 1.2)
    assert all(base * 0.8 <= s <= base * 1.2 for s in samples)
    assert len({round(s, 6) for s in samples}) > 100  # it really varies


def test_custom_schedule_and_max_attempts():
    schedule = [1, 2]

    delays = [
        retry_delay(failed_attempts=n, schedule=schedule, max_attempts=5, rng=FixedRandom(0.5))
        for n in range(1, 6)
    ]

    # past the end of the schedule its last delay repeats; attempt 5 is the last
    assert delays == [pytest.approx(1), pytest.approx(2), pytest.approx(2), pytest.approx(2), None]


def test_max_attempts_one_never_retries():
    assert retry_delay(failed_attempts=1, max_attempts=1) is None


def test_retry_after_is_honoured_when_longer():
    assert retry_delay(failed_attempts=1, retry_after=60, rng=FixedRandom(0.5)) == 60
    assert retry_delay(failed_attempts=2, retry_after=60, rng=FixedRandom(0.5)) == 300


def test_retry_after_never_extends_the_budget():
    assert retry_delay(failed_attempts=8, retry_after=1) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # in the past: retry now
        ("99999999", MAX_RETRY_AFTER_SECONDS),
        ("soon", None),
        ("", None),
        (None, None),
        ("-5", None),
    ],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, now=NOW) == expected


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_succeeds(status):
    assert classify_status(status) is AttemptOutcome.SUCCESS


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
def test_retryable_statuses(status):
    assert classify_status(status) is AttemptOutcome.RETRYABLE


@pytest.mark.parametrize("status", [100, 301, 302, 307, 400, 401, 403, 404, 405, 410, 413, 422])
def test_permanent_statuses(status):
    assert classify_status(status) is AttemptOutcome.PERMANENT
