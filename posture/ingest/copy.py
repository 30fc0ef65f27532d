"""Bulk writes of new rows: PostgreSQL's COPY where there is one, a multi-row INSERT elsewhere."""

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


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


def _column(model: type[models.Model], attname: str) -> str:
    field = model._meta.get_field(attname)
    assert isinstance(field, models.Field)
    assert field.column
    return field.column
