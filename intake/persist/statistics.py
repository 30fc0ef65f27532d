"""Keeps PostgreSQL's planner statistics current while imports grow the big tables.

The score engine and the pages join these tables; with statistics from when a table was empty the
planner picks nested loops that take seconds instead of milliseconds (measured: the score engine's
queries 2.8 s each at 2,500,000 findings, ~5 ms once analyzed). Autovacuum normally refreshes them, but
it may be off or lag behind a fleet's first import, which grows the tables by millions of rows in
minutes: so after an import, a table changed by more than a tenth since it was last analyzed is
analyzed again (a sample of rows; a few hundred milliseconds).
"""

from django.db import connection

from posture.models import Resource
from recommendations.models import Assessment, Finding, MachineTally, RuleTally, Scan, ScanResult

TABLES = [
    model._meta.db_table
    for model in (Resource, Assessment, Scan, ScanResult, Finding, RuleTally, MachineTally)
]
# As autovacuum's own rule (threshold + scale factor), with a floor that keeps small tables quiet.
THRESHOLD = 1000
SCALE = 0.1


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
