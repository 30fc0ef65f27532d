"""After an import grows a table by more than a tenth, PostgreSQL's planner statistics are refreshed
(autovacuum may be off, or behind a fleet's first import)."""

import pytest
from django.db import connection

from intake.persist.bulk import refresh_planner_statistics
from tests.scans import scan_xccdf


def last_analyzed(table: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", [table])
        row = cursor.fetchone()
    return row[0] if row else None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics: the PostgreSQL pass")
def test_a_table_an_import_grew_is_analyzed_once() -> None:
    refresh_planner_statistics()  # what earlier tests left
    before = last_analyzed("recommendations_finding")
    # The import refreshes the statistics itself once its transaction ends; PostgreSQL may flush the
    # import's counters after that look (at most a second later), so whichever call sees them analyzes.
    scan_xccdf("big-host", {f"rule_{i:04d}": "fail" for i in range(1500)}, bare=True)
    last_analyzed("recommendations_finding")  # the import's counters reach the statistics
    refresh_planner_statistics()
    after = last_analyzed("recommendations_finding")
    assert after is not None
    assert after != before
    assert refresh_planner_statistics() == []  # nothing changed since


@pytest.mark.django_db
def test_nothing_is_analyzed_on_sqlite() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("SQLite pass")
    assert refresh_planner_statistics() == []
