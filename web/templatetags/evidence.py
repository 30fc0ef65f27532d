"""Template filters for scan evidence: a rendered value and, apart, the raw OVAL items it could not render."""

from django import template

from posture.importers.oval_evidence import RAW_MARK

register = template.Library()


@register.filter
def evidence_parts(value: str) -> tuple[str, str]:
    """("rendered words", "raw items") of an actual value; the raw part is empty when all was rendered."""
    text = value or ""
    head, mark, raw = text.partition(RAW_MARK + ":\n")
    if not mark:
        return text, ""
    return head.rstrip("\n"), raw
