"""psycopg converts each statement's `%s` placeholders to PostgreSQL's `$n` in Python, and
caches the conversion only for statements up to 4,096 bytes and 50 parameters. Ingest with
fan-out is one statement (the submission, each delivery, the day's count) over both limits at
three destinations: it was converted afresh on every request, a quarter of that request's
time (make bench-scale, py-spy).

FormBridge runs a small, fixed set of such statements (the text depends on the number of
deliveries, not on values), so the limits are raised to hold them. The cache stays psycopg's
own: 128 entries, least recently used out, so at most a few MB.
"""

from __future__ import annotations

from psycopg import _queries

MAX_LENGTH = 32_768
MAX_PARAMS = 400


def install() -> None:
    # Module globals read on every conversion (psycopg/_queries.py, PostgresQuery.convert).
    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, MAX_LENGTH)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, MAX_PARAMS)
