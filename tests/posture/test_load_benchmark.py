"""`manage.py load_benchmark`: the whole rule catalog of a benchmark, before any scan."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import QuerySet

from recommendations.catalog.baselines import PUBLISHED_BENCHMARK_IDS
from recommendations.models import Benchmark, Finding, Rule, Scan

pytestmark = pytest.mark.django_db


def scanned_rules() -> QuerySet[Rule]:
    """The catalog's rules but the published baselines' (loaded with the catalog)."""
    return Rule.objects.exclude(benchmark__benchmark_id__in=PUBLISHED_BENCHMARK_IDS)


OSCAP = Path(__file__).resolve().parent.parent.parent.parent / "shared" / "data" / "oscap"
SSG_DEBIAN = Path("/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml")


def test_loads_every_rule_of_the_benchmark_without_a_scan():
    out = StringIO()
    call_command("load_benchmark", str(OSCAP / "rhel9-stig.arf.xml.xz"), stdout=out)
    assert (
        "Guide to the Secure Configuration of Red Hat Enterprise Linux 9 0.1.65: 1348 rules" in out.getvalue()
    )
    assert scanned_rules().count() == 1348
    assert scanned_rules().exclude(cce="").count() == scanned_rules().filter(key__startswith="CCE-").count()
    assert Benchmark.objects.exclude(benchmark_id__in=PUBLISHED_BENCHMARK_IDS).get().version == "0.1.65"
    assert not Scan.objects.exists()
    assert not Finding.objects.exists()
    again = StringIO()
    call_command("load_benchmark", str(OSCAP / "rhel9-stig.arf.xml.xz"), stdout=again)
    assert "(0 new, 0 updated" in again.getvalue()


@pytest.mark.skipif(not SSG_DEBIAN.exists(), reason="Debian's ssg-debian package is not installed")
def test_loads_a_data_stream_from_the_ssg_packages():
    out = StringIO()
    call_command("load_benchmark", str(SSG_DEBIAN), stdout=out)
    assert "Debian 11" in out.getvalue()
    assert scanned_rules().count() > 100


def test_a_file_without_rules_is_rejected(tmp_path):
    empty = tmp_path / "x.xml"
    empty.write_text('<?xml version="1.0"?><Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b"/>')
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("load_benchmark", str(empty), stdout=out)
    assert "rejected: the file holds no XCCDF rules" in out.getvalue()
