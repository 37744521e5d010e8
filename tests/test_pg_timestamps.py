"""Timestamps parsed by psycopg's C loader (core/pg_timestamps.py) are the values Django's own
Python loader gives, and an unreadable one fails the same way."""

from __future__ import annotations

import datetime

import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

from core import pg_timestamps

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's loader")

VALUES = """
    SELECT v::timestamptz FROM unnest(ARRAY[
        '2026-12-03 15:53:43.637766+00', '2026-01-02 03:04:05.123456+05',
        '1969-12-31 23:59:59.999999-08', '0001-01-01 00:00:00+00', '9999-12-31 23:59:59.999999+00',
        '2024-02-29 12:00:00+05:30', '2026-03-29 01:30:00+00'
    ]) AS v
"""


def test_the_connection_loads_timestamps_in_c_with_djangos_values(db):
    with connection.cursor() as cursor:
        cursor.execute(VALUES)
        fast = [row[0] for row in cursor.fetchall()]
        loader = connection.connection.adapters.get_loader(pg_timestamps._TIMESTAMPTZ, 0)
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor)  # Django's own loader, on this cursor
        cursor.execute(VALUES)
        django_values = [row[0] for row in cursor.fetchall()]

    assert loader is pg_timestamps.UtcTimestamptzLoader
    assert fast == django_values
    assert all(value.tzinfo is datetime.UTC for value in fast)


def test_an_unreadable_timestamp_is_a_data_error_as_before(db):
    """The engine isolates poison rows on DataError (delivery/engine.py _UNREADABLE)."""
    with pytest.raises(DataError), connection.cursor() as cursor:
        cursor.execute("SELECT 'infinity'::timestamptz")
        cursor.fetchone()
