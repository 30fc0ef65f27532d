"""Microsoft's published Azure compute security baselines (Windows Server, Linux) as catalog rules.

The two JSON files beside this module are facts transcribed from Microsoft's reference pages (their
source, commit and quirks: azure-baselines.md). They are loaded with the rest of the catalog, so the
Baseline page lists every rule before any scan; SecurityBaseline exports then join them by rule ID.
Rules of OpenSCAP benchmarks keep coming from `load_benchmark` and the scans.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posture.importers.rule_types import baseline_rule_type
from recommendations.models import Benchmark, Rule, RuleSeverity

CATALOG_DIR = Path(__file__).parent
WINDOWS = "azure-baseline-windows"
LINUX = "azure-baseline-linux"
# benchmark id -> (file, title, os)
BASELINES = {
    WINDOWS: (
        CATALOG_DIR / f"{WINDOWS}.json",
        "Azure compute security baseline for Windows Server",
        "windows",
    ),
    LINUX: (CATALOG_DIR / f"{LINUX}.json", "Azure compute security baseline for Linux", "linux"),
}
PUBLISHED_BENCHMARK_IDS = frozenset(BASELINES)
CCE_PATTERN = re.compile(r"^CCE-\d{4,5}-\d$")
SEVERITIES = {
    "Critical": RuleSeverity.CRITICAL,
    "Important": RuleSeverity.HIGH,
    "Warning": RuleSeverity.MEDIUM,
    "Informational": RuleSeverity.INFO,
}
VALUE_TYPES = {
    "Registry": "Registry",
    "Audit": "Audit policy",
    "Policy": "Security policy",
    "OsConfig": "OsConfig",
}
# The columns a reload rewrites: everything the files say (the key identifies the rule).
FIELDS = (
    "cce", "rule_id", "benchmark", "title", "description", "rationale", "severity", "rule_type", "os",
    "expected", "references", "fix_text", "fix_bash", "fix_ansible", "section", "key_path",
    "group_policy_path", "group_policy_value", "value_type", "os_versions", "server_types", "updated_at",
)  # fmt: skip
OS_VERSIONS = ("WS2008", "WS2008R2", "WS2012", "WS2012R2", "WS2016", "WS2019", "WS2022", "WSASHCI22H2")
SERVER_TYPES = ("Domain Controller", "Domain Member", "Workgroup Member")


@dataclass(frozen=True)
class BaselineLoadResult:
    benchmark_id: str
    version: str
    rules: int


def delimited(names: list[str]) -> str:
    """ ",WS2016,WS2019,": a LIKE on ",WS2008," then never matches WS2008R2."""
    return f",{','.join(names)}," if names else ""


def _windows_rule(item: dict[str, Any], benchmark: Benchmark) -> Rule:
    references = [{"source": "CIS Benchmark", "ref": f"{m['id']} ({m['platform']})"} for m in item["cis"]]
    references += [
        {
            "source": "DISA STIG" if m["standard"] == "STIG" else m["standard"],
            "ref": f"{m['id']} ({m['platform']})",
        }
        for m in item.get("other_mappings", [])
    ]
    rule_id = item["id"]
    return Rule(
        key=rule_id,
        cce=rule_id if CCE_PATTERN.match(rule_id) else "",
        rule_id=rule_id,
        benchmark=benchmark,
        title=item["name"],
        severity=SEVERITIES[item["severity"]],
        rule_type=baseline_rule_type(VALUE_TYPES[item["value_type"]]),
        os="windows",
        expected=item["expected_value"],
        references=references,
        section=item["section"],
        key_path=item["key_path"],
        group_policy_path=item["group_policy_path"] or "",
        group_policy_value=item.get("group_policy_value", ""),
        value_type=item["value_type"],
        os_versions=delimited(item["os"]),
        server_types=delimited(item["server_type"]),
    )


def _linux_rule(item: dict[str, Any], benchmark: Benchmark) -> Rule:
    expected, rule_type, key_path = "", "Other", ""
    if sysctl := item.get("sysctl"):
        expected, rule_type, key_path = (
            f"{sysctl['key']} = {sysctl['value']}",
            "Kernel parameters",
            sysctl["key"],
        )
    elif sshd := item.get("sshd_config"):
        expected, rule_type = f"{sshd['key']} {sshd['value']} in {sshd['file']}", "SSH"
        key_path = f"{sshd['file']} {sshd['key']}"
    actions = item.get("remediation_actions", [])
    fix_text = (
        "Azure's guest-configuration remediation: "
        + ", ".join(f"omsremediate -r {action}" for action in actions)
        + "."
        if actions
        else ""
    )
    return Rule(
        key=item["id"],
        rule_id=item["id"],
        benchmark=benchmark,
        title=item["name"],
        severity=RuleSeverity.UNKNOWN,  # Microsoft publishes no severities for Linux
        rule_type=rule_type,
        os="linux",
        expected=expected,
        fix_text=fix_text,
        section=item["section"],
        key_path=key_path,
    )


def load_baseline(benchmark_id: str) -> BaselineLoadResult:
    """Create or refresh the baseline's benchmark and every rule of its file; idempotent."""
    path, title, os_name = BASELINES[benchmark_id]
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    month, day, year = data["source"]["ms_date"].split("/")
    version = f"{year}-{int(month):02d}-{int(day):02d}"
    benchmark, _ = Benchmark.objects.update_or_create(
        benchmark_id=benchmark_id, version=version, defaults={"title": title, "os": os_name}
    )
    build = _windows_rule if os_name == "windows" else _linux_rule
    rules = [build(item, benchmark) for item in data["rules"]]
    # A rule first met in a SecurityBaseline export (same key) becomes the published one.
    Rule.objects.bulk_create(rules, update_conflicts=True, unique_fields=["key"], update_fields=FIELDS)
    return BaselineLoadResult(benchmark_id, version, len(rules))


def load_baselines() -> list[BaselineLoadResult]:
    return [load_baseline(benchmark_id) for benchmark_id in BASELINES]
