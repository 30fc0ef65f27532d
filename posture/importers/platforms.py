"""Which operating system a benchmark targets, from its CPE platforms, and a scan's target from its facts.

A benchmark names its platforms (`<platform idref="cpe:/o:redhat:enterprise_linux:9"/>`, CPE 2.2 URIs or
CPE 2.3 strings); DISA's SCC also reports the target's own OS (`urn:scap:fact:asset:identifier:os_name`).
Nothing is guessed from titles: a platform Posture does not know (a network device's, say) leaves the
family unknown ("") rather than calling it Linux.
"""

# Vendor:product prefixes of Linux distributions' CPEs, and their names.
LINUX = {
    "redhat:enterprise_linux": "Red Hat Enterprise Linux",
    "redhat:rhel": "Red Hat Enterprise Linux",
    "centos:centos": "CentOS",
    "fedoraproject:fedora": "Fedora",
    "debian:debian_linux": "Debian",
    "canonical:ubuntu_linux": "Ubuntu",
    "suse:sles": "SUSE Linux Enterprise Server",
    "suse:suse_linux_enterprise_server": "SUSE Linux Enterprise Server",
    "suse:suse_linux_enterprise_desktop": "SUSE Linux Enterprise Desktop",
    "opensuse:leap": "openSUSE Leap",
    "oracle:linux": "Oracle Linux",
    "almalinux:almalinux": "AlmaLinux",
    "rocky:rocky": "Rocky Linux",
    "amazon:linux": "Amazon Linux",
    "amazon:amazon_linux": "Amazon Linux",
}
# Words in a target's reported OS name that make it Linux or Windows.
LINUX_WORDS = ("linux", "red hat", "redhat", "rhel", "centos", "debian", "ubuntu", "suse", "fedora", "oracle")


def _parts(cpe: str) -> tuple[str, str, str, str] | None:
    """(part, vendor, product, version) of a CPE 2.2 URI or 2.3 formatted string."""
    cpe = cpe.strip().lower()
    if cpe.startswith("cpe:2.3:"):
        fields = cpe[len("cpe:2.3:") :].split(":")
    elif cpe.startswith("cpe:/"):
        fields = cpe[len("cpe:/") :].split(":")
    else:
        return None  # a reference to a CPE applicability expression (#machine): not a platform name
    fields += [""] * (4 - len(fields))
    version = "" if fields[3] in ("*", "-") else fields[3]
    return fields[0], fields[1], fields[2], version


def platform_of(cpe: str) -> tuple[str, str]:
    """The OS family ("linux", "windows" or "" when unknown) and a readable name of one CPE."""
    parts = _parts(cpe)
    if parts is None or parts[0] != "o":
        return "", ""
    _, vendor, product, version = parts
    name = next((n for prefix, n in LINUX.items() if f"{vendor}:{product}".startswith(prefix)), None)
    if name is not None:
        return "linux", f"{name} {version}".strip()
    if vendor == "microsoft" and product.startswith("windows"):
        return "windows", " ".join(
            word.capitalize() for word in f"{product} {version}".replace("_", " ").split()
        )
    readable = " ".join(
        word.capitalize() for word in f"{vendor} {product} {version}".replace("_", " ").split()
    )
    return ("linux" if "linux" in product else ""), readable


def content_platform(cpes: list[str]) -> tuple[str, str]:
    """A benchmark's OS family (one family for all its platforms, else unknown) and its platforms' names."""
    families: set[str] = set()
    names: list[str] = []
    for cpe in cpes:
        family, name = platform_of(cpe)
        if name:
            families.add(family)
            if name not in names:
                names.append(name)
    family = families.pop() if len(families) == 1 else ""
    return family, ", ".join(names[:4])


def target_family(os_name: str) -> str:
    """The family of the OS a scanner reported for its target (SCC's os_name fact), or unknown."""
    lowered = os_name.lower()
    if "windows" in lowered:
        return "windows"
    return "linux" if any(word in lowered for word in LINUX_WORDS) else ""
