"""Bulk writes into the big tables: records in chunks, new rows by PostgreSQL's COPY where there is one
(a multi-row INSERT elsewhere), and the planner statistics kept current after them.

The score engine and the pages join these tables; with statistics from when a table was empty the
planner picks nested loops that take seconds instead of milliseconds (measured: the score engine's
queries 2.8 s each at 2,500,000 findings, ~5 ms once analyzed). Autovacuum normally refreshes them, but
it may be off or lag behind a fleet's first import, which grows the tables by millions of rows in
minutes: so after an import, a table changed by more than a tenth since it was last analyzed is
analyzed again (a sample of rows; a few hundred milliseconds).
"""

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from django.db import connection, models

from posture.models import Resource
from recommendations.models import Assessment, Finding, MachineTally, RuleTally, Scan, ScanResult

CHUNK = 1000
T = TypeVar("T")
TABLES = [
    model._meta.db_table
    for model in (Resource, Assessment, Scan, ScanResult, Finding, RuleTally, MachineTally)
]
# As autovacuum's own rule (threshold + scale factor), with a floor that keeps small tables quiet.
THRESHOLD = 1000
SCALE = 0.1


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows of plain values (ints, text, aware datetimes, None) into the model's table; the
    columns are attribute names (`scan_id`). No signals, no returned ids: for derived rows only."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(_column(model, c)) for c in columns)
        with connection.cursor() as cursor:
            # Django's cursor wraps psycopg's; COPY needs the driver's own.
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    model._default_manager.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500
    )


def upsert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    unique: Sequence[str],
) -> None:
    """Insert rows, or overwrite the row with the same `unique` columns. On PostgreSQL: COPY into a
    temporary table, then one INSERT ... ON CONFLICT DO UPDATE from it (Django's bulk_create builds the
    same statement from Python parameters at a fifth of the speed)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows],
            batch_size=500,
            update_conflicts=True,
            unique_fields=[model._meta.get_field(c).name for c in unique],
            update_fields=[model._meta.get_field(c).name for c in columns if c not in unique],
        )
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = [quote(_column(model, c)) for c in columns]
    keys = ", ".join(quote(_column(model, c)) for c in unique)
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for c, n in zip(columns, names, strict=True) if c not in unique)
    listed = ", ".join(names)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        # Names come from model metadata, values through COPY: nothing here is user input.
        raw.execute(
            f"CREATE TEMPORARY TABLE posture_upsert ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {listed} FROM {table} WITH NO DATA"
        )
        with raw.copy(f"COPY posture_upsert ({listed}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.execute(
            f"INSERT INTO {table} ({listed}) SELECT {listed} FROM posture_upsert "  # noqa: S608
            f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"
        )
        raw.execute("DROP TABLE posture_upsert")


def _column(model: type[models.Model], attname: str) -> str:
    field = model._meta.get_field(attname)
    assert isinstance(field, models.Field)
    assert field.column
    return field.column


def refresh_planner_statistics() -> list[str]:
    """ANALYZE the import tables that changed enough since their last analysis; returns their names."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT relname FROM pg_stat_user_tables
               WHERE relname = ANY(%s) AND n_mod_since_analyze > %s + %s * n_live_tup""",
            [TABLES, THRESHOLD, SCALE],
        )
        stale = sorted(row[0] for row in cursor.fetchall())
        for table in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return stale
