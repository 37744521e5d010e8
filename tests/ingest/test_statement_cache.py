"""Ingest with fan-out is one statement over psycopg's default caching limits (4,096 bytes, 50
parameters); core/pg_statement_cache.py raises them so it is converted once, not per request."""

from __future__ import annotations

import pytest
from django.db import connection
from psycopg import _queries

from delivery import services as delivery_services
from ingest.models import Submission

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's cache")


def test_an_ingest_to_three_destinations_is_converted_once(signed, acme, receiver):
    for name in ("crm", "sheet", "chat"):
        delivery_services.destination_create(
            tenant=acme.tenant, name=name, config={"url": receiver.url(f"/{name}")}
        )
    signed.submit(acme)  # its statement converted, and cached
    before = _queries._query2pg.cache_info()

    signed.submit(acme, n=3)

    after = _queries._query2pg.cache_info()
    assert after.misses == before.misses  # nothing converted again
    assert after.hits > before.hits
    assert Submission.objects.filter(tenant=acme.tenant).count() == 4
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= 75  # the fan-out statement's 75 parameters
