"""The OS-configuration recommendations evaluated from scans: machines, and scale sets rolled up."""

import io
from datetime import UTC, datetime

import pytest

from intake.pipeline import ingest_stream
from recommendations.evaluators.os_config import evaluate_os_configuration
from recommendations.models import Assessment
from scoring.engine import compute_score
from tests.factories import make_assessment, make_resource
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

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
