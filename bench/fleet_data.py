"""A synthetic fleet shaped like the real scans: RHEL 9 STIG rule ids and CCEs, ~500 rules a machine.

Results are drawn deterministically per machine (seeded), with a failure rate like the real scan's
(39 fail of 104 pass+fail), so the data has the real file's proportions without shipping files.
"""

import io
import lzma
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

XCCDF = "http://checklists.nist.gov/xccdf/1.2"


def real_rule_results(arf_xz: Path) -> list[tuple[str, str, str, str]]:
    """(rule id, CCE, severity, result) of every evaluated rule of the real scan."""
    tree = etree.parse(io.BytesIO(lzma.decompress(arf_xz.read_bytes())), etree.XMLParser(huge_tree=True))
    rows = []
    for rr in tree.iter(f"{{{XCCDF}}}rule-result"):
        result = rr.findtext(f"{{{XCCDF}}}result") or ""
        if result == "notselected":
            continue
        cce = next((i.text or "" for i in rr.iter(f"{{{XCCDF}}}ident") if "cce" in i.get("system", "")), "")
        rows.append((rr.get("idref", ""), cce, rr.get("severity", "unknown"), result))
    return rows


def machine_scan(
    rules: list[tuple[str, str, str, str]], host: str, seed: int, when: datetime, fail_rate: float = 0.375
) -> bytes:
    """A bare XCCDF TestResult for one machine, as an agent would upload it."""
    rng = random.Random(seed)
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?><TestResult xmlns="{XCCDF}" '
        f'id="xccdf_org.open-scap_testresult_stig" start-time="{when.isoformat()}" '
        f'end-time="{(when + timedelta(minutes=4)).isoformat()}"><target>{escape(host)}</target>'
        '<profile idref="xccdf_org.ssgproject.content_profile_stig"/>'
    ]
    for rule_id, cce, severity, result in rules:
        if result in ("pass", "fail"):
            result = "fail" if rng.random() < fail_rate else "pass"
        ident = f'<ident system="https://nvd.nist.gov/cce/index.cfm">{cce}</ident>' if cce else ""
        parts.append(
            f'<rule-result idref="{rule_id}" severity="{severity}">'
            f"<result>{result}</result>{ident}</rule-result>"
        )
    parts.append("</TestResult>")
    return "".join(parts).encode()


BASE = datetime(2026, 11, 1, tzinfo=UTC)
