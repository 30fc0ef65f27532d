"""A new user's mixed folder imports in one `manage.py ingest` call: every Defender shape, a
SecurityBaseline export, and OpenSCAP results of oscap 1.2 and 1.3 and of DISA SCC, each detected from
its content, and Defender's own score. Files and their provenance: tests/posture/test_defender_exports.py,
tests/posture/test_defender_scores.py and
tests/fixtures/oscap/README.md (genuine, except the Defender CSV and SecurityRecommendation files,
DERIVED from documented schemas, and securitybaseline/dc-lon-07.csv, an existing fixture)."""

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from recommendations.models import Scan

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SHARED = FIXTURES.parent.parent.parent / "shared" / "data" / "oscap"
FOLDER = [
    FIXTURES / "defender" / "portal-report.DERIVED.csv",
    FIXTURES / "defender" / "rest-list-assessments.json",
    FIXTURES / "defender" / "arg-assessments.json",
    FIXTURES / "defender" / "securityrecommendation.DERIVED.json",
    FIXTURES / "defender-score" / "rest-securescorecontrols.json",
    FIXTURES / "securitybaseline" / "dc-lon-07.csv",
    FIXTURES / "oscap" / "rhel7-rht-ccp.oscap-1.2.4.arf.xml.xz",
    FIXTURES / "oscap" / "rhel7-stig.scc-5.4.xccdf.xml.xz",
    SHARED / "rhel9-stig.arf.xml.xz",
]


def test_a_mixed_folder_imports_in_one_call(tmp_path):
    files = []
    for number, source in enumerate(FOLDER):
        # Names that say nothing of the format: detection reads the content.
        target = tmp_path / f"export-{number}{''.join(source.suffixes[-1:])}"
        shutil.copy(source, target)
        files.append(str(target))
    out = StringIO()
    call_command("ingest", "--json", *files, stdout=out)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["status"], r["format"]) for r in results] == [
        ("imported", "defender"),
        ("imported", "defender"),
        ("imported", "defender"),
        ("imported", "defender"),
        ("imported", "defender-score"),
        ("imported", "securitybaseline"),
        ("imported", "arf"),
        ("imported", "xccdf"),
        ("imported", "arf"),
    ]
    assert [r.get("naive_times") for r in results[6:]] == [True, True, False]
    assert Scan.objects.count() == 4  # the baseline's computer and three OpenSCAP / SCC scans
