"""Recognise an input file's format from its first bytes."""

from posture.errors import RejectedFile

FORMATS = ("inventory", "defender", "scap", "securitybaseline")


def detect_format(head: bytes) -> str:
    """Name the format of a file from (at least) its first few kilobytes."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise RejectedFile("the file is empty")
    if text[:1] == b"<":
        return "scap"
    if text[:1] in (b"{", b"["):
        return "securitybaseline" if b'"CceId"' in text else "defender"
    first_line = text.split(b"\n", 1)[0].lower()
    if b"cceid" in first_line and b"analyzeresult" in first_line:
        return "securitybaseline"
    if b"resource_id" in first_line and b"," in first_line:
        return "inventory"
    raise RejectedFile(
        "unrecognised format: expected an inventory CSV (header with resource_id), a Defender "
        "assessments JSON export, an OpenSCAP ARF / XCCDF result (XML) or a SecurityBaseline export "
        "(CSV or JSON with CceId); use --format to force one"
    )
