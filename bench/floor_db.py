"""The floors' one database connection per process (autocommit, as a minimal app would hold)."""

import os

import psycopg

_connection = None


def db() -> psycopg.Connection:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=True)
    return _connection
