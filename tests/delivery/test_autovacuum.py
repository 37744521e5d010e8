"""The delivery table is vacuumed as the queue it also is (migration 0013)."""

from __future__ import annotations

import pytest
from django.db import connection

from delivery.models import Delivery


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's storage settings")
def test_the_delivery_table_is_vacuumed_at_one_percent_dead(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s", [Delivery._meta.db_table]
        )
        [options] = cursor.fetchone()

    assert "autovacuum_vacuum_scale_factor=0.01" in options
    assert "autovacuum_analyze_scale_factor=0.005" in options
