"""Expected and actual values in words, from the OVAL definitions and system characteristics of the
real ARF reports in ../shared/data/oscap (OpenSCAP 1.3.7, SCAP Security Guide 0.1.65), and, for the
families those scans do not fail on, from OVAL parts written for the test (labelled as such below)."""

import io
import re

import pytest
from django.template import Context, Template

from posture.importers.oval_evidence import RAW_MARK, OvalTest, Part, render_rule
from posture.importers.xccdf import read_scap
from tests.posture.test_scap_reader import unpacked

SSG = "xccdf_org.ssgproject.content_rule_"


@pytest.fixture(scope="module")
def rhel9() -> dict[str, tuple[str, str]]:
    document = read_scap(io.BytesIO(unpacked("rhel9-stig.arf.xml.xz")))
    return {
        r.rule_id.removeprefix(SSG): (r.expected, r.actual)
        for r in document.scans[0].results
        if r.result == "fail"
    }


def test_every_failed_rule_of_the_rhel9_scan_says_what_was_expected_and_found(rhel9):
    assert len(rhel9) == 39
    rendered = [
        rule for rule, (expected, actual) in rhel9.items() if expected and actual and RAW_MARK not in actual
    ]
    assert len(rendered) / len(rhel9) >= 0.9
    assert len(rendered) == 39  # as measured: every family these fails use is rendered
    # Never the raw dump of an item (field=value lists), never a value cut off.
    for expected, actual in rhel9.values():
        assert not re.search(r"\b(a_time|filepath|user_id)=", actual)
        assert expected != "/home/cloudsdk"


@pytest.mark.parametrize(
    ("rule", "expected", "actual"),
    [
        # File permissions and ownership (test none_exist, the object's filter naming the violation).
        (
            "file_permissions_etc_shadow",
            "/etc/shadow: mode 0000 or stricter",
            "/etc/shadow: mode 0640, owner root, group gid 42",
        ),
        (
            "file_groupowner_etc_gshadow",
            "/etc/gshadow: group root",
            "/etc/gshadow: mode 0640, owner root, group gid 42",
        ),
        # A home directory: the state itself says the mode (it was "/home/cloudsdk", a variable's path).
        (
            "file_permissions_home_directories",
            "files under /home/cloudsdk: mode 0750 or stricter",
            "/home/cloudsdk: mode 0755, owner uid 1000, group gid 1000",
        ),
        ("package_usbguard_installed", "usbguard installed", "usbguard not installed"),
        # The benchmark's own value (XCCDF) says the expected value first; OVAL says what was found.
        (
            "accounts_password_set_min_life_existing",
            "minimum password age: 1",
            "root: minimum password age 0; daemon: minimum password age 0",
        ),
        (
            "use_pam_wheel_for_su",
            r"a line matching ^[\s]*auth[\s]+required[\s]+pam_wheel\.so[\s]+use_uid$ in /etc/pam.d/su",
            "not found in /etc/pam.d/su",
        ),
        (
            "network_configure_name_resolution",
            "a line matching ^\\s*hosts\\s*:\\s*.*dns.*$ in /etc/nsswitch.conf",
            "/etc/nsswitch.conf: hosts: files dns",
        ),
        (
            "enable_authselect",
            "/etc/pam.d/system-auth a symbolic link to a path = /etc/authselect/system-auth",
            "/etc/pam.d/system-auth is not a symbolic link",
        ),
        ("accounts_umask_etc_bashrc", "Sensible umask: 077", "etc bashrc umask as number: no value found"),
    ],
)
def test_each_family_reads_like_a_sysadmin_would_say_it(rhel9, rule, expected, actual):
    found_expected, found_actual = rhel9[rule]
    assert expected in found_expected
    assert actual in found_actual


def test_the_debian_scan_without_cces_is_rendered_too():
    document = read_scap(io.BytesIO(unpacked("debian-anssi-high.arf.xml.xz")))
    failed = {r.rule_id.removeprefix(SSG): r for r in document.scans[0].results if r.result == "fail"}
    assert failed["file_permissions_systemmap"].expected == (
        r"files in /boot matching ^System\.map.*$: mode 0600 or stricter, owner root"
    )
    assert (
        failed["file_permissions_systemmap"].actual == r"not found: files in /boot matching ^System\.map.*$"
    )
    assert failed["apt_sources_list_official"].actual.startswith(
        "not found in files matching ^/etc/apt/sources"
    )


# The families the real scans do not fail on. These OVAL parts are written for the test, after SCAP
# Security Guide's sysctl, partition and systemd unit checks; they are not copied from a scan.


def field(name: str, value: str, operation: str = "", var_ref: str = "") -> tuple[str, str, str, str]:
    return (name, value, operation, var_ref)


def words(kind: str, obj: Part, states: list[Part], items: list[Part], **info: str) -> tuple[str, str]:
    test = OvalTest(kind=kind, **info)  # type: ignore[arg-type]
    return render_rule([(test, obj, states, items, len(items))], {}).text()


def test_sysctl_mount_options_and_systemd_units():
    sysctl = Part("sysctl", (field("name", "kernel.dmesg_restrict"),))
    one = Part("sysctl", (field("value", "1", "equals"),))
    assert words(
        "sysctl",
        sysctl,
        [one],
        [Part("sysctl", (field("name", "kernel.dmesg_restrict"), field("value", "0")))],
    ) == (
        "kernel.dmesg_restrict = 1",
        "kernel.dmesg_restrict = 0",
    )
    assert words("sysctl", sysctl, [one], [])[1] == "kernel.dmesg_restrict not set"
    tmp = Part("partition", (field("mount_point", "/tmp"),))
    nodev = Part("partition", (field("mount_options", "nodev"),))
    mounted = Part(
        "partition",
        (field("mount_point", "/tmp"), field("mount_options", "rw"), field("mount_options", "relatime")),
    )
    assert words("partition", tmp, [nodev], [mounted]) == (
        "/tmp mounted with nodev",
        "/tmp mounted with rw,relatime",
    )
    assert words("partition", tmp, [nodev], [])[1] == "/tmp is not a separate mount point"
    unit = Part(
        "systemdunitproperty",
        (field("unit", "^auditd\\.service$", "pattern match"), field("property", "ActiveState")),
    )
    active = Part("systemdunitproperty", (field("value", "active"),))
    item = Part(
        "systemdunitproperty",
        (field("unit", "auditd.service"), field("property", "ActiveState"), field("value", "inactive")),
    )
    assert words("systemdunitproperty", unit, [active], [item])[1] == "auditd.service ActiveState = inactive"


def test_a_family_not_rendered_keeps_its_items_whole_behind_see_oval_evidence():
    long_value = "x" * 400
    items = [
        Part("xmlfilecontent", (field("filepath", f"/etc/app-{n}.xml"), field("value_of", long_value)))
        for n in range(7)
    ]
    expected, actual = words("xmlfilecontent", Part("xmlfilecontent"), [], items)
    assert expected == ""
    head, _, raw = actual.partition(RAW_MARK + ":\n")
    assert head == ""
    lines = raw.splitlines()
    assert lines[0] == f"xmlfilecontent: filepath=/etc/app-0.xml, value_of={long_value}"  # whole
    assert lines[-1] == "… and 2 more items"
    html = Template('{% include "recommendations/_value.html" %}').render(Context({"value": actual}))
    assert '<details class="oval-evidence"><summary>see OVAL evidence</summary>' in html
    assert long_value in html
