"""The OS of a machine and of a benchmark come from the content's CPE platforms and the scan's target
facts; what they do not name stays unknown.

Genuine files (provenance in tests/fixtures/oscap/README.md): the oscap 1.2.17 RHEL 7 STIG results
(`cpe:/o:redhat:enterprise_linux:7`), DISA SCC's RHEL 7 results (target facts os_name "RedHat Variant",
os_version 7.7), oscap's XCCDF 1.1 sample (no platform at all). The Cisco IOS benchmark is DERIVED:
tests/scap_builder.py's document with its platform and title changed to a network device's.
"""

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.urls import reverse

from intake.pipeline import ingest_file, ingest_stream
from posture.importers.platforms import content_platform, platform_of, target_family
from posture.models import Resource
from recommendations.models import Assessment, Scan
from tests.factories import make_resource
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

OSCAP = Path(__file__).resolve().parent.parent / "fixtures" / "oscap"


@pytest.mark.parametrize(
    ("cpe", "family", "name"),
    [
        ("cpe:/o:redhat:enterprise_linux:7::client", "linux", "Red Hat Enterprise Linux 7"),
        ("cpe:/o:debian:debian_linux:11", "linux", "Debian 11"),
        ("cpe:2.3:o:canonical:ubuntu_linux:22.04:*:*:*:lts:*:*:*", "linux", "Ubuntu 22.04"),
        ("cpe:/o:microsoft:windows_server_2022", "windows", "Windows Server 2022"),
        ("cpe:/o:cisco:ios:15.1", "", "Cisco Ios 15.1"),
        ("cpe:/a:apache:http_server:2.4", "", ""),  # an application, not an OS
        ("#machine", "", ""),  # an applicability reference, not a platform
    ],
)
def test_a_cpe_names_its_os_family_only_when_it_is_known(cpe, family, name):
    assert platform_of(cpe) == (family, name)


def test_a_benchmark_of_mixed_families_is_of_no_one_family():
    assert content_platform(["cpe:/o:fedoraproject:fedora:20", "cpe:/o:fedoraproject:fedora:21"]) == (
        "linux",
        "Fedora 20, Fedora 21",
    )
    assert content_platform(["cpe:/o:redhat:enterprise_linux:9", "cpe:/o:microsoft:windows_10"])[0] == ""
    assert target_family("RedHat Variant") == "linux"
    assert target_family("Cisco IOS XE") == ""


def test_genuine_rhel7_results_make_a_linux_machine_from_the_cpe():
    # Listed with no OS (the file names only localhost): the scan's content tells it.
    machine = make_resource(name="rhel7", kind="arc_machine", os="")
    result = ingest_file(OSCAP / "rhel7-stig.oscap-1.2.17.xccdf.xml.xz", resource=machine.resource_id)
    assert result.status == "imported", result.error
    machine.refresh_from_db()
    assert machine.os == "linux"
    benchmark = Scan.objects.get().benchmark  # not the published baselines of the catalog
    assert benchmark is not None
    assert (benchmark.os, benchmark.platform) == ("linux", "Red Hat Enterprise Linux 7")
    assert Scan.objects.get().target_os == "Red Hat Enterprise Linux 7"


def test_scc_target_facts_name_the_os_the_machine_reported():
    ingest_file(OSCAP / "rhel7-stig.scc-5.4.xccdf.xml.xz")
    scan = Scan.objects.get()
    assert scan.target_os == "RedHat Variant 7.7"
    assert scan.resource.os == "linux"


def test_content_without_a_platform_leaves_the_machine_unknown(client, admin_user):
    result = ingest_file(OSCAP / "xccdf-1.1.oscap-1.3.2.xml")
    assert result.status == "imported", result.error
    machine = Resource.objects.get()
    assert machine.os == ""
    client.force_login(admin_user)
    page = client.get(reverse("resource", args=[machine.pk])).content.decode()
    assert "<dt>OS</dt><dd>Unknown</dd>" in page


def test_a_network_device_benchmark_never_makes_a_linux_machine():
    document = xccdf_result(host="edge-rtr-01", results={"a": "fail"}, when=datetime(2026, 11, 1, tzinfo=UTC))
    document = document.replace(b"cpe:/o:example:test_linux:1", b"cpe:/o:cisco:ios:15.1").replace(
        b"Guide to the Secure Configuration of Test Linux", b"CIS Cisco IOS 15 Benchmark"
    )
    ingest_stream(io.BytesIO(document), file_format="scap")
    machine = Resource.objects.get()
    assert machine.os == ""
    benchmark = Scan.objects.get().benchmark
    assert benchmark is not None
    assert benchmark.platform == "Cisco Ios 15.1"
    # No OS-specific recommendation guesses one: neither Arc agent recommendation is evaluated.
    keys = set(Assessment.objects.filter(resource=machine).values_list("recommendation__key", flat=True))
    assert not keys & {"arc-linux-agent-installed", "arc-windows-agent-installed"}
