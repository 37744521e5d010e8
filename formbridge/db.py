"""Database helpers the ORM does not offer."""

from __future__ import annotations

import functools

from django.db import connections, models, router


@functools.cache
def _insert_or_skip_sql(model: type[models.Model], conflict_fields: tuple[str, ...], vendor: str):
    connection = next(c for c in connections.all() if c.vendor == vendor)
    quote = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(quote(f.column) for f in meta.concrete_fields)
    placeholders = ", ".join(["%s"] * len(meta.concrete_fields))
    conflict = ", ".join(quote(meta.get_field(name).column) for name in conflict_fields)
    return (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )


def insert_or_skip(instance: models.Model, *, conflict_fields: tuple[str, ...]) -> bool:
    """INSERT the row unless one with the same conflict_fields exists; True if it was inserted.

    One statement, so it costs one round trip in autocommit and, unlike catching IntegrityError,
    leaves an enclosing transaction usable. PostgreSQL and SQLite (3.35+) both support it.
    """
    model = type(instance)
    connection = connections[router.db_for_write(model)]
    sql = _insert_or_skip_sql(model, conflict_fields, connection.vendor)
    params = [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        for field in model._meta.concrete_fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchone() is not None
    instance._state.adding = not inserted
    return inserted
