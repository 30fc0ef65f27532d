"""OS-configuration scans for the demo estate, written as the XCCDF a scanner produces and imported.

The rules are real SCAP Security Guide RHEL 9 rules (ids, CCE IDs, titles, severities are facts of
that content); descriptions, expected values and fix commands are Posture's own short versions.
"""

import random
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

XCCDF = "http://checklists.nist.gov/xccdf/1.2"
PREFIX = "xccdf_org.posture.demo_rule_"
VALUE_PREFIX = "xccdf_org.posture.demo_value_"
CCE_SYSTEM = "https://nvd.nist.gov/cce/index.cfm"

# (short id, CCE, severity, title, expected, actual when failing, fix command)
LINUX_RULES: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("sshd_disable_root_login", "CCE-90800-4", "medium", "Disable SSH Root Login",
     "PermitRootLogin no", "PermitRootLogin yes",
     "sed -i 's/^#\\?PermitRootLogin.*/PermitRootLogin no/' /etc/ssh/sshd_config && systemctl reload sshd"),
    ("sshd_set_idle_timeout", "CCE-90811-1", "medium", "Set SSH Client Alive Interval",
     "ClientAliveInterval 600", "ClientAliveInterval 0",
     "echo 'ClientAliveInterval 600' > /etc/ssh/sshd_config.d/01-idle.conf && systemctl reload sshd"),
    ("sshd_disable_empty_passwords", "CCE-90799-8", "high", "Disable SSH Access via Empty Passwords",
     "PermitEmptyPasswords no", "PermitEmptyPasswords yes",
     "sed -i 's/^#\\?PermitEmptyPasswords.*/PermitEmptyPasswords no/' /etc/ssh/sshd_config"),
    ("accounts_maximum_age_login_defs", "CCE-83606-4", "medium", "Set Password Maximum Age",
     "PASS_MAX_DAYS 60", "PASS_MAX_DAYS 99999",
     "sed -i 's/^PASS_MAX_DAYS.*/PASS_MAX_DAYS 60/' /etc/login.defs"),
    ("accounts_tmout", "CCE-83633-8", "medium", "Set Interactive Session Timeout",
     "TMOUT=900", "TMOUT unset", "echo 'declare -xr TMOUT=900' > /etc/profile.d/tmout.sh"),
    ("sysctl_kernel_randomize_va_space", "CCE-83971-2", "medium",
     "Enable Randomized Layout of Virtual Address Space", "kernel.randomize_va_space = 2",
     "kernel.randomize_va_space = 0", "sysctl -w kernel.randomize_va_space=2"),
    ("sysctl_net_ipv4_ip_forward", "CCE-83998-5", "medium",
     "Disable Kernel Parameter for IP Forwarding on IPv4 Interfaces", "net.ipv4.ip_forward = 0",
     "net.ipv4.ip_forward = 1", "sysctl -w net.ipv4.ip_forward=0"),
    ("sysctl_kernel_dmesg_restrict", "CCE-83952-2", "low", "Restrict Access to Kernel Message Buffer",
     "kernel.dmesg_restrict = 1", "kernel.dmesg_restrict = 0", "sysctl -w kernel.dmesg_restrict=1"),
    ("file_permissions_etc_shadow", "CCE-83941-5", "medium", "Verify Permissions on shadow File",
     "mode 0000", "mode 0640", "chmod 0000 /etc/shadow"),
    ("file_permissions_etc_passwd", "CCE-83931-6", "medium", "Verify Permissions on passwd File",
     "mode 0644", "mode 0664", "chmod 0644 /etc/passwd"),
    ("package_aide_installed", "CCE-90843-4", "medium", "Install AIDE", "package aide installed",
     "package aide not installed", "dnf install -y aide"),
    ("service_auditd_enabled", "CCE-90829-3", "medium", "Enable auditd Service", "auditd enabled",
     "auditd disabled", "systemctl enable --now auditd"),
    ("service_firewalld_enabled", "CCE-90833-5", "medium", "Verify firewalld Enabled",
     "firewalld enabled", "firewalld inactive", "systemctl enable --now firewalld"),
    ("package_telnet-server_removed", "CCE-84149-4", "high", "Uninstall telnet-server Package",
     "package telnet-server absent", "telnet-server-0.17-85.el9 installed", "dnf remove -y telnet-server"),
    ("mount_option_tmp_noexec", "CCE-83885-4", "medium", "Add noexec Option to /tmp",
     "/tmp mounted noexec", "/tmp mounted rw,nosuid,nodev", "mount -o remount,noexec /tmp"),
    ("grub2_password", "CCE-83849-0", "high", "Set Boot Loader Password in grub2",
     "GRUB2_PASSWORD set", "no GRUB2_PASSWORD in /boot/grub2/user.cfg", "grub2-setpassword"),
    ("selinux_state", "CCE-84079-3", "high", "Ensure SELinux State is Enforcing",
     "SELINUX=enforcing", "SELINUX=permissive",
     "sed -i 's/^SELINUX=.*/SELINUX=enforcing/' /etc/selinux/config"),
    ("configure_crypto_policy", "CCE-83450-7", "high", "Configure System Cryptography Policy",
     "crypto policy FIPS", "crypto policy DEFAULT", "update-crypto-policies --set FIPS"),
    ("coredump_disable_storage", "CCE-83979-5", "medium", "Disable storing core dump",
     "Storage=none", "Storage=external", "sed -i 's/^#\\?Storage=.*/Storage=none/' /etc/systemd/coredump.conf"),
    ("no_empty_passwords", "CCE-83611-4", "high", "Prevent Login to Accounts With Empty Password",
     "no nullok in PAM", "nullok in /etc/pam.d/system-auth",
     "sed -i 's/ nullok//' /etc/pam.d/system-auth /etc/pam.d/password-auth"),
)  # fmt: skip


def _rule_type_group(rule: str) -> str:
    return "Services" if rule.startswith(("service_", "package_")) else "System Settings"


def benchmark_document(when: datetime, host: str, results: dict[str, str]) -> bytes:
    """An XCCDF result file: the demo benchmark with its rules, and one machine's TestResult."""
    rules = []
    values = []
    outcomes = []
    for name, cce, severity, title, expected, actual, fix in LINUX_RULES:
        rule_id = PREFIX + name
        ident = f'<ident system="{CCE_SYSTEM}">{cce}</ident>'
        # The expected value as a benchmark Value the check exports, the actual one as the engine's
        # message: where the reader takes them from in real scans without OVAL results.
        value_id = VALUE_PREFIX + name
        check = f'<check system="urn:xccdf:check:oval"><check-export value-id="{value_id}" export-name="x"/></check>'
        values.append(
            f'<Value id="{value_id}" type="string"><title>Required</title><value>{escape(expected)}</value></Value>'
        )
        rules.append(
            f'<Rule id="{rule_id}" severity="{severity}" selected="true"><title>{escape(title)}</title>'
            f"<description>{escape(title)}: the machine must have {escape(expected)}.</description>"
            f"<rationale>A setting of the DISA STIG for RHEL 9 profile.</rationale>"
            f'<reference href="https://public.cyber.mil/stigs/">RHEL-09 STIG</reference>{ident}'
            f"<fixtext>Set {escape(expected)}.</fixtext>"
            f'<fix system="urn:xccdf:fix:script:sh">{escape(fix)}</fix>{check}</Rule>'
        )
        result = results.get(name, "notselected")
        outcomes.append(
            f'<rule-result idref="{rule_id}" severity="{severity}"><result>{result}</result>{ident}'
            f"{'<message>' + escape(actual) + '</message>' if result == 'fail' else ''}{check}</rule-result>"
        )
    stamp = when.isoformat()
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Benchmark xmlns="{XCCDF}" '
        'id="xccdf_org.posture.demo_benchmark_RHEL-9"><status>accepted</status>'
        "<title>Posture demo baseline for Red Hat Enterprise Linux 9</title>"
        # The platform the content targets, as SCAP Security Guide declares it: the machines' OS comes from it.
        '<platform idref="cpe:/o:redhat:enterprise_linux:9"/><version>2026.11</version>'
        '<Profile id="xccdf_org.posture.demo_profile_stig"><title>DISA STIG (demo subset)</title></Profile>'
        f'{"".join(values)}<Group id="xccdf_org.posture.demo_group_system"><title>System Settings</title>'
        f"{''.join(rules)}</Group>"
        f'<TestResult id="xccdf_org.posture.demo_testresult" start-time="{stamp}" end-time="{stamp}">'
        f"<target>{escape(host)}</target>"
        f"<profile idref={quoteattr('xccdf_org.posture.demo_profile_stig')}/>{''.join(outcomes)}"
        "</TestResult></Benchmark>"
    ).encode()


def machine_results(name: str, failing_share: float) -> dict[str, str]:
    """Deterministic results for a machine: the same machine always fails the same rules."""
    rng = random.Random(name)  # noqa: S311 - demo data, not security
    return {rule[0]: ("fail" if rng.random() < failing_share else "pass") for rule in LINUX_RULES}


# Windows baseline rules of Defender's SecurityBaseline (CCE IDs and names as Defender reports them).
WINDOWS_RULES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("CCE-37615-2", "Security Policy", "Accounts: Limit local account use of blank passwords to console logon only",
     "Critical", "LimitBlankPasswordUse", "1"),
    ("CCE-38347-1", "Registry Key", "Prevent enabling lock screen camera", "Warning", "NoLockScreenCamera", "1"),
    ("CCE-36388-7", "Registry Key", "Configure Offer Remote Assistance", "Critical", "fAllowUnsolicited", "0"),
    ("CCE-37346-4", "Registry Key", "Enable RPC Endpoint Mapper Client Authentication", "Critical",
     "EnableAuthEpResolution", "1"),
)  # fmt: skip


def security_baseline_csv(computer: str, resource_id: str, when: datetime, failing_share: float) -> bytes:
    rng = random.Random(computer)  # noqa: S311 - demo data, not security
    lines = [
        "TimeGenerated,Computer,ResourceId,OSName,BaselineType,BaselineRuleType,CceId,Description,"
        "RuleSeverity,RuleSetting,ExpectedResult,ActualResult,AnalyzeResult"
    ]
    for cce, rule_type, description, severity, setting, expected in WINDOWS_RULES:
        failed = rng.random() < failing_share
        actual = ("0" if expected == "1" else "1") if failed else expected
        result = "Failed" if failed else "Passed"
        lines.append(
            f"{when.isoformat()},{computer},{resource_id},Windows Server 2022 Datacenter,WindowsOS,{rule_type},"
            f'{cce},"{description}",{severity},{setting},{expected},{actual},{result}'
        )
    return ("\n".join(lines) + "\n").encode()
