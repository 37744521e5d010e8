"""Database helpers the ORM does not offer."""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, models, router
from django.utils import timezone


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


@dataclass(frozen=True)
class CteFragment:
    """One data-modifying CTE of a statement that several apps write into at once.

    `sql` is the whole `name AS (...)` clause and reads the rows of the CTE it was built for;
    `params` fill its placeholders, in order. The app that owns the table builds its fragment,
    the caller only joins them, so no app spells another's columns.
    """

    sql: str
    params: list


def typed_placeholders(model: type[models.Model], connection, *, fed: str = "") -> str:
    """%s per concrete column, cast to its type (values selected FROM a CTE carry none); the
    column named `fed` takes `{}` instead, for the caller to fill with an expression."""
    return ", ".join(
        "{}" if field.attname == fed else f"%s::{field.db_type(connection)}"
        for field in model._meta.concrete_fields
    )


# Field classes (exactly these, not subclasses: a subclass may encrypt or encode) whose
# preparation for PostgreSQL returns a value of these types unchanged, as psycopg takes it.
# (SQLite's turns UUIDs and times into text: everything is prepared there.)
_SENT_AS_IS: dict[type[models.Field], tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.IntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.BigIntegerField: (int,),
    models.BooleanField: (bool,),
    models.UUIDField: (uuid.UUID,),
    models.DateTimeField: (datetime,),
}


@functools.cache
def _columns(
    model: type[models.Model], skip: str, vendor: str
) -> tuple[tuple[models.Field, tuple], ...]:
    """Each column's field and the value types it sends as they are (none: always prepared)."""
    columns = []
    for field in model._meta.concrete_fields:
        if field.attname == skip:
            continue
        stored = field.target_field if field.is_relation else field
        as_is = _SENT_AS_IS.get(type(stored), ()) if vendor == "postgresql" else ()
        columns.append((field, as_is))
    return tuple(columns)


def prepared_values(instance: models.Model, connection, *, skip: str = "") -> list:
    """The instance's column values as an INSERT sends them (defaults and auto fields filled),
    in concrete-field order, leaving out the field named `skip`.

    A value of the exact type its column sends as is goes without Django's preparation, which
    would only check and return it (a fan-out ingest prepares about 100 values a request; this
    was a tenth of its time). Anything else (JSON, a custom field, a naive time, an enum
    member) is prepared by its field."""
    values = []
    for field, as_is in _columns(type(instance), skip, connection.vendor):
        value = field.pre_save(instance, add=True)
        kind = type(value)
        if value is None and as_is:
            values.append(None)
        elif kind in as_is and (kind is not datetime or value.tzinfo is not None):
            values.append(value)
        else:
            values.append(field.get_db_prep_save(value, connection))
    return values


def insert_or_skip(instance: models.Model, *, conflict_fields: tuple[str, ...]) -> bool:
    """INSERT the row unless one with the same conflict_fields exists; True if it was inserted.

    One statement, so it costs one round trip in autocommit and, unlike catching IntegrityError,
    leaves an enclosing transaction usable. PostgreSQL and SQLite (3.35+) both support it.
    """
    model = type(instance)
    connection = connections[router.db_for_write(model)]
    sql = _insert_or_skip_sql(model, conflict_fields, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, prepared_values(instance, connection))
        inserted = cursor.fetchone() is not None
    instance._state.adding = not inserted
    return inserted


def bulk_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert new rows (field name -> value; ids from the database); COPY on PostgreSQL.

    bulk_create prepares and quotes every value in Python (client-side binding): it was half of
    the delivery engine's recording time. COPY formats rows in psycopg's C code, so values go
    as they are except JSON, dumped here, and timestamps the model fills in (auto_now).
    Other databases (the embedded SQLite default) use bulk_create.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(model(**row) for row in rows)
        return
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    stamped = {
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    }
    as_json = {f.attname for f in fields if isinstance(f, models.JSONField)}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    names = [f.attname for f in fields]
    # The raw driver cursor raises psycopg's own errors: wrapped, callers see Django's.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                values = []
                for name in names:
                    if name in stamped:
                        values.append(row.get(name) or now)
                    elif name in as_json:
                        values.append(json.dumps(row.get(name)))
                    else:
                        values.append(row[name])
                copy.write_row(values)
