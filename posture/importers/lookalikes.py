"""Files of formats Posture does not read, recognised from their first bytes so that a rejection says
what the file looked like instead of blaming a field of a format it never was.

Only cheap, unambiguous markers of each format's own header; AWS Security Hub (ASFF), Prowler's OCSF
and AWS / GCP inventories are left out on purpose: their readers are on their way.
"""

import re

from posture.errors import RejectedFile

# (what the file looks like, markers that must all be in its first kilobytes)
JSON_LOOKALIKES: tuple[tuple[str, tuple[re.Pattern[bytes], ...]], ...] = (
    ("a SARIF log (static analysis results)", (re.compile(rb'"\$schema"\s*:\s*"[^"]*sarif'),)),
    ("a SARIF log (static analysis results)", (re.compile(rb'"runs"\s*:\s*\['), re.compile(rb'"tool"\s*:'))),
    ("a CycloneDX SBOM", (re.compile(rb'"bomFormat"\s*:\s*"CycloneDX"'),)),
    ("an SPDX SBOM", (re.compile(rb'"spdxVersion"\s*:'),)),
    ("a Trivy report", (re.compile(rb'"SchemaVersion"\s*:'), re.compile(rb'"ArtifactName"\s*:'))),
    ("a Grype report", (re.compile(rb'"matches"\s*:\s*\['), re.compile(rb'"matchDetails"\s*:'))),
    ("a kube-bench report", (re.compile(rb'"Controls"\s*:'), re.compile(rb'"node_type"\s*:'))),
    ("a Wazuh API response (SCA results)", (re.compile(rb'"affected_items"\s*:'),)),
    ("a DefectDojo findings export", (re.compile(rb'"found_by"\s*:'), re.compile(rb'"test"\s*:'))),
)
XML_LOOKALIKES = {
    "NessusClientData_v2": "a Nessus scan (.nessus)",
    "CHECKLIST": "a DISA STIG Viewer checklist (.ckl)",
    "oval_results": "OVAL results without their XCCDF results (use oscap xccdf eval --results-arf)",
    "oval_definitions": "OVAL definitions (content, not results)",
    "bom": "a CycloneDX SBOM",
    "sarifLog": "a SARIF log",
    "report": "a vulnerability scanner's XML report (OpenVAS or Qualys)",
}


def not_read_yet(what: str) -> RejectedFile:
    return RejectedFile(f"looks like {what}, which Posture does not read yet")


def refuse_json_lookalike(head: bytes) -> None:
    """Raise when the JSON's first bytes are those of a format Posture does not read."""
    for what, markers in JSON_LOOKALIKES:
        if all(marker.search(head) for marker in markers):
            raise not_read_yet(what)


def xml_lookalike(root: str) -> str | None:
    """What an XML file of this root element (its local name) looks like, when Posture knows it."""
    return XML_LOOKALIKES.get(root)
