"""The finding tallies, kept current import by import, always equal a rebuild from the findings."""

import io
from datetime import UTC, datetime

import pytest

from intake.pipeline import ingest_stream
from posture.models import Subscription
from recommendations.models import MachineTally, RuleTally
from recommendations.tallies import rebuild_tallies
from tests.factories import make_resource, make_subscription
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db


def tallies() -> tuple[list[tuple], list[tuple]]:
    # Rows that fell back to all zeros are left by increments; a rebuild does not write them.
    rules = sorted(
        RuleTally.objects.exclude(open_count=0, passing_count=0, evaluated_count=0).values_list(
            "subscription_id",
            "rule__key",
            "machine_os",
            "machine_kind",
            "open_count",
            "passing_count",
            "evaluated_count",
        )
    )
    machines = sorted(
        (m.resource_id, m.open_count, m.by_severity, m.by_rule_type, m.by_rule_os)
        for m in MachineTally.objects.filter(open_count__gt=0)
    )
    return rules, machines


def scan(host: str, day: int, **results: str) -> None:
    document = xccdf_result(
        host=host,
        results=results,
        when=datetime(2026, 11, day, tzinfo=UTC),
        severities={"a": "high", "b": "low"},
        cces={"a": "CCE-80001-1"},
    )
    ingest_stream(io.BytesIO(document), file_format="scap")


def test_incremental_tallies_equal_a_rebuild_through_opens_resolves_reopens_and_moves():
    make_resource(name="web-1")
    make_resource(name="web-2", os="windows")
    scan("web-1", 1, a="fail", b="fail", c="pass")
    scan("web-2", 1, a="fail", b="pass", c="notapplicable")
    scan("web-1", 3, a="pass", b="fail", c="error")
    scan("web-1", 2, a="fail", b="pass", c="pass")  # an older scan arriving late
    scan("web-2", 5, a="fail", b="fail", c="fail")
    scan("web-1", 6, a="fail", b="fail", c="pass")  # reopens a
    scan("lab-7", 6, a="fail")  # a discovered machine
    incremental = tallies()
    rebuild_tallies()
    assert tallies() == incremental
    open_total = sum(row[4] for row in incremental[0])
    # web-1 fails a and b, web-2 a, b and c, lab-7 a.
    assert open_total == sum(row[1] for row in incremental[1]) == 6


def test_a_machine_moving_subscription_takes_its_tallies_along():
    make_subscription("prod")
    make_subscription("lab")
    header = "resource_id,name,kind,os,subscription\n"
    ingest_stream(io.BytesIO(f"{header}vm:1,web-1,vm,linux,prod\n".encode()), file_format="inventory")
    scan("web-1", 1, a="fail", b="pass")
    ingest_stream(io.BytesIO(f"{header}vm:1,web-1,vm,linux,lab\n".encode()), file_format="inventory")
    incremental = tallies()
    rebuild_tallies()
    assert tallies() == incremental
    assert {row[0] for row in incremental[0]} == {Subscription.objects.get(name="lab").pk}


def test_a_machine_listed_as_another_kind_takes_its_tallies_along():
    """Each OS-configuration recommendation counts its own kinds of machine from the tallies: a machine
    an inventory lists again as another kind moves there."""
    header = "resource_id,name,kind,os,subscription\n"
    ingest_stream(io.BytesIO(f"{header}m:1,web-1,vm,linux,prod\n".encode()), file_format="inventory")
    scan("web-1", 1, a="fail", b="pass")
    ingest_stream(io.BytesIO(f"{header}m:1,web-1,arc_machine,linux,prod\n".encode()), file_format="inventory")
    incremental = tallies()
    rebuild_tallies()
    assert tallies() == incremental
    assert {row[3] for row in incremental[0]} == {"arc_machine"}
