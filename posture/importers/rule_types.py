"""Rule types: one short category per rule, so a team can see "12 kernel parameters, 30 file permissions".

XCCDF has no rule-type field. SCAP Security Guide rule ids are systematic (sysctl_*, file_permissions_*,
service_*_disabled, ...), so the type comes from the id's prefix; rules no prefix matches take the title
of their top-level XCCDF group ("System Settings", "Services"). Defender's SecurityBaseline gives
BaselineRuleType, normalised to the same names.
"""

import re

# (pattern on the rule id's short name, type); first match wins.
_PREFIXES: tuple[tuple[str, str], ...] = (
    (r"^sysctl_", "Kernel parameters"),
    (r"^kernel_module_", "Kernel modules"),
    (r"^(file_|dir_|permissions_|file_permissions|file_owner|file_groupowner|no_files_)", "File permissions"),
    (r"^(mount_option_|partition_for_)", "Mount options"),
    (r"^package_", "Packages"),
    (r"^(service_|socket_|timer_)", "Services"),
    (r"^(audit_|auditd_)", "Audit policy"),
    (r"^sshd?_", "SSH"),
    (
        r"^(accounts_|account_|no_empty_passwords|no_shelllogin|no_netrc|password|gid_|root_|set_password|"
        r"enable_pam|pam_|use_pam|display_login)",
        "Account policy",
    ),
    (r"^(grub2_|bootloader_|uefi_|zipl_)", "Boot loader"),
    (r"^(configure_crypto|fips_|harden_|enable_fips|crypto)", "Cryptography"),
    (r"^(rsyslog_|journald_|logrotate_|syslog)", "Logging"),
    (r"^(firewalld_|network_|wireless_|nftables_|iptables_|ip6tables_)", "Network"),
    (r"^(selinux_|apparmor_|sebool_)", "Mandatory access control"),
    (r"^aide_", "Integrity monitoring"),
    (r"^(dconf_|gnome_|banner_|login_banner|xwindows_)", "Security options"),
    (r"^(ensure_|security_patches|clean_components|dnf-automatic|yum_|gpgcheck)", "Software updates"),
    (r"^coredump_|^disable_users_coredumps", "Kernel parameters"),
)

_BASELINE_TYPES = {
    "registry key": "Registry",
    "registry": "Registry",
    "audit policy": "Audit policy",
    "security policy": "Security options",
    "account policy": "Account policy",
    "service": "Services",
    "services": "Services",
}

OTHER = "Other"


def short_rule_name(rule_id: str) -> str:
    """xccdf_org.ssgproject.content_rule_sysctl_kernel_dmesg_restrict -> sysctl_kernel_dmesg_restrict."""
    _, sep, tail = rule_id.partition("_rule_")
    return tail if sep else rule_id


def xccdf_rule_type(rule_id: str, top_group_title: str = "") -> str:
    name = short_rule_name(rule_id)
    for pattern, rule_type in _PREFIXES:
        if re.match(pattern, name):
            return rule_type
    return top_group_title.strip() or OTHER


def baseline_rule_type(value: str) -> str:
    cleaned = " ".join(value.split())
    return _BASELINE_TYPES.get(cleaned.lower(), cleaned or OTHER)
