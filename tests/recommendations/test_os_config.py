"""The OS-configuration recommendations evaluated from scans: machines, and scale sets rolled up."""

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from intake.pipeline import ingest_file, ingest_stream
from recommendations.evaluators.os_config import evaluate_os_configuration
from recommendations.models import Assessment
from scoring.engine import compute_score
from tests.factories import make_assessment, make_resource
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "oscap"
T1 = datetime(2026, 11, 1, tzinfo=UTC)
T2 = datetime(2026, 11, 2, tzinfo=UTC)


def scan(resource, when, **results):
    document = xccdf_result(host=resource.name, results=results, when=when, severities={"a": "high"})
    return ingest_stream(io.BytesIO(document), file_format="scap", resource_hint=resource.resource_id)


def status(resource, key):
    assessment = Assessment.objects.get(resource=resource, recommendation__key=key)
    return assessment.status, assessment.reason


def test_unscanned_machine_is_not_applicable_with_defenders_reason():
    vm = make_resource(name="vm-1")
    evaluate_os_configuration([vm.pk])
    assert status(vm, "machine-config-vulns") == ("not_applicable", "No scan data available on the machine")


def test_scale_set_is_unhealthy_when_any_instance_is():
    scale_set = make_resource(name="api", kind="vmss")
    failing, clean, unscanned = (
        make_resource(name=f"api_{n}", kind="vmss_instance", parent=scale_set) for n in range(3)
    )
    evaluate_os_configuration([scale_set.pk])
    assert status(scale_set, "vmss-config-vulns") == (
        "not_applicable",
        "No scan data available on the machine",
    )
    scan(failing, T1, a="fail", b="fail", c="pass")
    scan(clean, T1, a="pass", b="pass")
    assert status(scale_set, "vmss-config-vulns") == (
        "unhealthy",
        "1 of 3 instances fail OS configuration rules (2 failed rules: 1 high, 1 medium)",
    )
    assert not Assessment.objects.filter(resource=unscanned).exists()
    scan(failing, T2, a="pass", b="pass", c="pass")
    assert status(scale_set, "vmss-config-vulns") == ("healthy", "")


def test_score_moves_with_the_scan_in_the_same_import():
    vm = make_resource(name="vm-1")
    make_assessment(vm, "vm-agent-installed", "healthy")
    assert compute_score().current == 4
    scan(vm, T1, a="fail")
    assert compute_score().current == 0
    scan(vm, T2, a="pass")
    assert compute_score().current == 4


def test_imported_defender_status_stands_until_a_scan_says_otherwise():
    vm = make_resource(name="vm-1")
    make_assessment(vm, "machine-config-vulns", "unhealthy", reason="from Defender")
    Assessment.objects.filter(resource=vm).update(source="defender_export")
    evaluate_os_configuration([vm.pk])
    assert status(vm, "machine-config-vulns") == ("unhealthy", "from Defender")
    scan(vm, T1, a="pass")
    assert status(vm, "machine-config-vulns") == ("healthy", "")


# Genuine oscap output, produced for this test (not copied from elsewhere): `oscap xccdf eval --profile
# xccdf_org.ssgproject.content_profile_anssi_np_nt28_minimal --results ...
# /usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml` with Debian 12's openscap-scanner 1.3.7 and
# ssg-debian 0.1.65 on a Debian 12 machine named "vm": Debian 11 content on Debian 12, so every
# selected rule is notapplicable (24) and the rest notselected (331). See tests/fixtures/oscap/README.md.
NOTHING_EVALUATED = FIXTURES / "debian11-anssi-minimal-on-debian12.oscap-1.3.7.xccdf.xml.xz"


def test_a_scan_that_evaluated_no_rule_is_no_evidence_of_health():
    vm = make_resource(name="vm")
    result = ingest_file(NOTHING_EVALUATED)
    assert result.status == "imported", result.error
    assert result.counts["results"] == {"notapplicable": 24, "notselected": 331}
    state, reason = status(vm, "machine-config-vulns")
    assert state == "not_applicable"
    assert reason.startswith("The last scan (2026-12-04 19:50 UTC) evaluated no rule ")
    assert "(331 not selected, 24 not applicable): its content" in reason
    assert "Debian 11" in reason
    assert compute_score().max == 0  # counted nowhere, as an unscanned machine


def test_the_last_scan_decides_a_machine_that_passed_before():
    vm = make_resource(name="vm-1")
    scan(vm, T1, a="pass", b="pass")
    assert status(vm, "machine-config-vulns") == ("healthy", "")
    scan(vm, T2, a="notapplicable", b="notchecked", c="notselected")
    state, reason = status(vm, "machine-config-vulns")
    assert state == "not_applicable"
    assert "evaluated no rule (1 not applicable, 1 not checked, 1 not selected)" in reason
    # An older scan arriving late changes nothing the newer one decided.
    scan(vm, T1 - timedelta(days=1), a="pass")
    assert status(vm, "machine-config-vulns")[0] == "not_applicable"
    scan(vm, T2 + timedelta(days=1), a="pass")
    assert status(vm, "machine-config-vulns") == ("healthy", "")


def test_errors_only_evaluate_nothing_and_open_failures_still_count():
    vm = make_resource(name="vm-1")
    scan(vm, T1, a="error", b="unknown")
    assert status(vm, "machine-config-vulns")[0] == "not_applicable"
    scan(vm, T2, a="fail")
    scan(vm, T2 + timedelta(days=1), b="notapplicable")  # says nothing of rule a, still failing
    assert status(vm, "machine-config-vulns") == (
        "unhealthy",
        "1 failed OS configuration rule (1 high)",
    )


def test_defender_status_stands_when_the_only_scan_evaluated_nothing():
    vm = make_resource(name="vm-1")
    make_assessment(vm, "machine-config-vulns", "unhealthy", reason="from Defender")
    Assessment.objects.filter(resource=vm).update(source="defender_export")
    scan(vm, T1, a="notapplicable")
    assert status(vm, "machine-config-vulns") == ("unhealthy", "from Defender")


def test_scale_set_whose_scanned_instances_evaluated_nothing_is_not_applicable():
    scale_set = make_resource(name="api", kind="vmss")
    first, second = (make_resource(name=f"api_{n}", kind="vmss_instance", parent=scale_set) for n in range(2))
    scan(first, T1, a="notapplicable")
    state, reason = status(scale_set, "vmss-config-vulns")
    assert state == "not_applicable"
    assert reason.startswith("The last scans of its 1 scanned instance evaluated no rule: its content")
    scan(second, T1, a="pass")
    assert status(scale_set, "vmss-config-vulns") == ("healthy", "")
