"""Recognise an input file's format from its first bytes."""

import re

from posture.errors import RejectedFile
from posture.importers.lookalikes import refuse_json_lookalike

FORMATS = (
    "inventory",
    "defender",
    "scap",
    "securitybaseline",
    "kubernetes",
    "aws-ec2",
    "aws-ssm",
    "gcp-compute",
    "asff",
    "prowler-ocsf",
    "defender-score",
)
# Defender's own secure score records (Resource Graph or REST), by their type: before any other JSON.
DEFENDER_SCORE = re.compile(
    rb'"type"\s*:\s*"microsoft\.security/securescores(?:/securescorecontrols)?"', re.IGNORECASE
)
# The clouds' CLI outputs and security tools' findings, by a key only they have, or (gcloud) the
# Compute API's instance URLs.
CLOUD_INVENTORIES = (
    ("aws-ec2", re.compile(rb'^\{\s*"Reservations"\s*:')),
    ("aws-ssm", re.compile(rb'^\{\s*"InstanceInformationList"\s*:')),
    # Findings before the GCP inventory: a Prowler finding about an instance quotes its URLs.
    ("asff", re.compile(rb'"SchemaVersion"\s*:\s*"2018-10-08"')),
    ("prowler-ocsf", re.compile(rb'"class_uid"\s*:\s*2004\b|"finding_info"\s*:')),
    (
        "gcp-compute",
        re.compile(
            rb'"(?:https://www\.googleapis\.com|https://compute\.googleapis\.com)/compute/v1/projects/[^"/]+/zones/'
        ),
    ),
)
# kubectl prints keys sorted, so a big List's "kind": "List" comes after all its items: its opening
# ("apiVersion" first) or its first item tells it apart from a Defender export, which has neither.
KUBECTL_LIST = (
    re.compile(rb'^\{\s*"apiVersion"\s*:'),
    re.compile(rb'"kind"\s*:\s*"List"'),
    re.compile(rb'"items"\s*:\s*\[\s*\{\s*"apiVersion"\s*:'),
)


def detect_format(head: bytes) -> str:
    """Name the format of a file from (at least) its first few kilobytes."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise RejectedFile("the file is empty")
    if text[:1] == b"<":
        return "scap"
    if text[:1] == b"{" and any(marker.search(text) for marker in KUBECTL_LIST):
        return "kubernetes"
    for name, marker in CLOUD_INVENTORIES:
        if marker.search(text):
            return name
    if text[:1] in (b"{", b"[") and DEFENDER_SCORE.search(text):
        return "defender-score"
    if text[:1] in (b"{", b"["):
        refuse_json_lookalike(text)
        return "securitybaseline" if b'"CceId"' in text else "defender"
    first_line = text.split(b"\n", 1)[0].lower()
    if first_line.startswith((b"apiversion:", b"kind:")):
        raise RejectedFile("a Kubernetes dump in YAML: export it as JSON (kubectl get ... -o json)")
    if b"cceid" in first_line and b"analyzeresult" in first_line:
        return "securitybaseline"
    # Defender's portal CSV report, and its SecurityRecommendation table exported from Log Analytics.
    if (b"recommendationid" in first_line and b"resourceid" in first_line) or (
        b"recommendationstate" in first_line and b"assessedresourceid" in first_line
    ):
        return "defender"
    if b"resource_id" in first_line and b"," in first_line:
        return "inventory"
    raise RejectedFile(
        "unrecognised format: expected an inventory CSV (header with resource_id), a Defender "
        "assessments export (JSON, or the portal's CSV report), an OpenSCAP ARF / XCCDF result "
        "(XML), a SecurityBaseline export "
        "(CSV or JSON with CceId) or a kubectl List (JSON); use --format to force one"
    )
