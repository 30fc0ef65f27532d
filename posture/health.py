"""Health probes of the components Posture depends on, shared by the healthcheck command and the ping task."""

from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class DatabaseHealth:
    vendor: str
    name: str


def check_database() -> DatabaseHealth:
    """Run a round trip to the database; raises whatever the driver raises when it is unreachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
    if row is None or row[0] != 1:
        raise RuntimeError(f"SELECT 1 returned {row!r}")
    return DatabaseHealth(vendor=connection.vendor, name=str(connection.settings_dict["NAME"]))
