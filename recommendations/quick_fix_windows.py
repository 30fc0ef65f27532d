"""The Windows quick fix: a PowerShell script setting what can be set on the machine itself for the failed
rules of a published Windows baseline, from the baseline's facts (key path, expected value, type).

Registry values are written with New-ItemProperty, audit policy with auditpol.exe (by subcategory
GUID), security policy and user rights with secedit.exe; each step is commented with the rule ID and
its Group Policy path. What a machine cannot set for itself is listed at the top: rules that need a
domain GPO (account policies of domain accounts, per-user settings) and those Posture cannot turn into
a value (a name to choose, text to write, firmware settings). As in the bash bundle, everything that
comes from a scan is untrusted: names only reach comments and single-quoted strings.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from recommendations.models import Rule
from recommendations.quick_fix import Selection, comment, counted, machine_groups, one_line

NUMBER = re.compile(r"^(?:Doesn't exist or )?(=|>=|<=)\s*(-?\d+)$")
RANGE = re.compile(r"^In (\d+)-(\d+)$")
# Well-known accounts by SID, so that secedit never depends on the machine's language.
SIDS = {
    "administrators": "*S-1-5-32-544",
    "users": "*S-1-5-32-545",
    "guests": "*S-1-5-32-546",
    "server operators": "*S-1-5-32-549",
    "print operators": "*S-1-5-32-550",
    "backup operators": "*S-1-5-32-551",
    "remote desktop users": "*S-1-5-32-555",
    "authenticated users": "*S-1-5-11",
    "local service": "*S-1-5-19",
    "network service": "*S-1-5-20",
    "service": "*S-1-5-6",
    "everyone": "*S-1-1-0",
}
# Account and lockout policies: a domain account's come from the domain's GPO, never from the machine.
DOMAIN_POLICIES = frozenset(
    {
        "MinimumPasswordLength", "PasswordComplexity", "MaximumPasswordAge", "MinimumPasswordAge",
        "PasswordHistorySize", "ClearTextPassword", "LockoutBadCount", "LockoutDuration", "ResetLockoutCount",
    }
)  # fmt: skip

PREAMBLE = r"""#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$failures = 0
function Invoke-PostureFix([string]$Title, [scriptblock]$Fix) {
    Write-Output "== $Title"
    try { & $Fix } catch { Write-Warning "FAILED: $Title ($_)"; $script:failures++ }
}
function Set-PostureRegistry([string]$Path, [string]$Name, $Value, [string]$Type) {
    if (-not (Test-Path -LiteralPath $Path)) { New-Item -Path $Path -Force | Out-Null }
    New-ItemProperty -LiteralPath $Path -Name $Name -Value $Value -PropertyType $Type -Force | Out-Null
}
function Set-PostureAudit([string]$Subcategory, [string[]]$Settings) {
    & auditpol.exe /set "/subcategory:$Subcategory" @Settings
    if ($LASTEXITCODE -ne 0) { throw "auditpol exited with $LASTEXITCODE" }
}
function Set-PostureSecurityPolicy([string]$Section, [string]$Key, [string]$Value) {
    $inf = Join-Path $env:TEMP "posture-secedit-$PID.inf"
    $db = Join-Path $env:TEMP "posture-secedit-$PID.sdb"
    $area = if ($Section -eq 'Privilege Rights') { 'USER_RIGHTS' } else { 'SECURITYPOLICY' }
    $lines = @('[Unicode]', 'Unicode=yes', "[$Section]", "$Key = $Value", '[Version]',
        'signature="$CHICAGO$"', 'Revision=1')
    Set-Content -LiteralPath $inf -Encoding Unicode -Value $lines
    & secedit.exe /configure /db $db /cfg $inf /areas $area /quiet
    $code = $LASTEXITCODE
    Remove-Item -LiteralPath $inf, $db -ErrorAction SilentlyContinue
    if ($code -ne 0) { throw "secedit exited with $code" }
}
$PostureNames = @($env:COMPUTERNAME, [System.Net.Dns]::GetHostEntry('').HostName)
function Test-PostureHost([string[]]$Hosts) {
    foreach ($name in $PostureNames) { if ($Hosts -contains $name) { return $true } }
    return $false
}
"""


@dataclass(frozen=True)
class Step:
    """A rule's PowerShell command, or why there is none (and whether it needs a domain GPO)."""

    command: str = ""
    reason: str = ""
    domain: bool = False


def quoted(text: str) -> str:
    """A PowerShell single-quoted string: nothing inside is expanded; a quote is doubled."""
    return "'" + one_line(text).replace("'", "''").replace("\u2018", "''").replace("\u2019", "''") + "'"


def _number(expected: str) -> int | None:
    if match := NUMBER.match(expected):
        return int(match.group(2))
    if match := RANGE.match(expected):
        return int(match.group(2))  # the upper bound: compliant and the least disruptive
    return None


def _registry(rule: Rule) -> Step:
    if rule.group_policy_path.startswith("User Configuration"):
        return Step(reason="a per-user setting: set it in a GPO's User Configuration", domain=True)
    path, _, name = rule.key_path.rpartition("\\")
    if not path or "?" in rule.key_path:
        return Step(reason="its key path names no single registry value")
    expected = rule.expected.removeprefix("Doesn't exist or ")
    number = _number(rule.expected)
    if number is not None:
        value, kind = str(number), "DWord"
    elif expected.startswith("= ") and "\\0" in expected:
        parts = [part for part in expected[2:].split("\\0") if part]
        value, kind = "@(" + ", ".join(quoted(part) for part in parts) + ")", "MultiString"
    elif expected.startswith("= ") and expected[2:].strip():
        text = expected[2:].strip()
        value, kind = quoted(text), "ExpandString" if "%" in text else "String"
    else:
        return Step(reason=f"the expected value {rule.expected!r} needs your organisation's choice")
    hive_path = "HKLM:\\" + path
    command = f"Set-PostureRegistry {quoted(hive_path)} {quoted(name)} {value} '{kind}'"
    return Step(command=command)


def _audit(rule: Rule) -> Step:
    guid = rule.key_path
    if not re.fullmatch(r"\{[0-9A-Fa-f-]{36}\}", guid):
        return Step(reason="its key path is not an audit subcategory GUID")
    wanted = rule.expected.removeprefix(">= ").removeprefix("= ")
    exact = rule.expected.startswith("= ")
    success = "Success" in wanted
    failure = "Failure" in wanted
    settings = []
    if success or exact:
        settings.append(f"'/success:{'enable' if success else 'disable'}'")
    if failure or exact:
        settings.append(f"'/failure:{'enable' if failure else 'disable'}'")
    if not settings:
        return Step(reason=f"the expected value {rule.expected!r} asks for no audit setting")
    return Step(command=f"Set-PostureAudit {quoted(guid)} @({', '.join(settings)})")


def _accounts(names: str, *, allow_fewer: bool) -> str | None:
    """secedit's value for a list of accounts; None when one cannot be named for sure."""
    if names.strip().lower() == "no one":
        return ""
    sids = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        sid = SIDS.get(name.lower())
        if sid is None and not allow_fewer:
            return None
        if sid is not None:
            sids.append(sid)
    return ",".join(sids)


def _policy(rule: Rule) -> Step:
    match = re.fullmatch(r"\[(System Access|Privilege Rights)\](\w+)", rule.key_path)
    if not match:
        return Step(reason="its key path is not a security-policy entry")
    section, key = match.groups()
    if section == "System Access":
        if key in DOMAIN_POLICIES:
            return Step(reason="domain accounts take it from the domain's password policy", domain=True)
        number = _number(rule.expected)
        if number is None:
            return Step(reason=f"the expected value {rule.expected!r} needs your organisation's choice")
        value = str(number)
    else:
        operator, _, names = rule.expected.partition(" ")
        # "<=": at most these accounts (a subset, leaving out accounts without a well-known SID, still
        # complies); "=" and ">=": exactly or at least these, so every one must be named.
        accounts = _accounts(names, allow_fewer=operator == "<=")
        if operator not in ("=", "<=", ">=") or accounts is None:
            return Step(reason=f"the accounts {rule.expected!r} cannot all be named by a well-known SID")
        value = accounts
    return Step(command=f"Set-PostureSecurityPolicy {quoted(section)} {quoted(key)} {quoted(value)}")


def windows_step(rule: Rule) -> Step:
    if rule.value_type == "Registry":
        return _registry(rule)
    if rule.value_type == "Audit":
        return _audit(rule)
    if rule.value_type == "Policy":
        return _policy(rule)
    if rule.value_type == "OsConfig":
        return Step(reason="a Secured-core setting of the firmware and OS configuration, not a local command")
    return Step(reason="not a rule of the published Windows baseline: no key path or value type")


def _where(rule: Rule) -> str:
    gp = rule.group_policy_path or "no Group Policy path published"
    return gp + (f" = {rule.group_policy_value}" if rule.group_policy_value else "")


def powershell_bundle(selection: Selection, *, generated: datetime) -> str:
    """The script: rules to set by GPO or by hand at the top, then one block per group of machines
    needing the same fixes, run only on a machine whose name is one of the group's."""
    steps = {pk: windows_step(rule) for pk, rule in selection.rules.items()}
    fixable = {pk for pk, step in steps.items() if step.command}
    lines = comment(
        f"Posture quick fix (PowerShell) for {selection.summary}, generated {generated:%Y-%m-%d %H:%M %Z}.\n"
        "Built from Microsoft's published baseline. Posture has run none of it: review it, then run it\n"
        "as an administrator on each machine. A domain GPO applied later overrides these local settings."
    )
    for title, domain in (("NEEDS A DOMAIN GPO", True), ("MANUAL STEPS", False)):
        listed = [pk for pk, step in steps.items() if not step.command and step.domain == domain]
        lines += comment(f"\n{title}: {counted(len(listed), 'rule')}.")
        for pk in sorted(listed, key=lambda pk: selection.rules[pk].key):
            rule = selection.rules[pk]
            machines = [m.label for m in selection.machines.values() if pk in selection.failing[m.pk]]
            lines += comment(f"{rule.key}: {rule.title}", indent="  ")
            lines += comment(f"Group Policy: {_where(rule)}", indent="      ")
            lines += comment(f"Why not here: {steps[pk].reason}", indent="      ")
            lines += comment(f"Machines: {', '.join(sorted(machines))}", indent="      ")
    lines += ["#", PREAMBLE]
    for number, group in enumerate(machine_groups(selection, fixable), 1):
        names = dict.fromkeys(name for machine in group.machines for name in machine.host_names)
        lines += comment(f"Group {number}: {', '.join(m.label for m in group.machines)}")
        lines.append(f"if (Test-PostureHost @({', '.join(quoted(name) for name in names)})) {{")
        for rule in group.rules:
            lines += comment(f"{rule.key}: {rule.title}", margin="    ")
            lines += comment(f"Group Policy: {_where(rule)}", margin="    ")
            lines += comment(f"Expected: {rule.expected}", margin="    ")
            title = quoted(f"{rule.key}: {rule.title}")
            lines.append(f"    Invoke-PostureFix {title} {{ {steps[rule.pk].command} }}")
        lines.append("}")
    lines += [
        'Write-Output "Done: $failures fix(es) failed."',
        "if ($failures -gt 0) { exit 1 }",
        "",
    ]
    return "\n".join(lines)
