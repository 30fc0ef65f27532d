"""Items that explain themselves: an item's severity, reason and evidence (the failed rules or the
assessment behind it, and when the evidence first showed it), and its history as old → new values
read from the audit log."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max, QuerySet
from django.db.models.functions import Coalesce

from audit.models import AuditEvent
from governance.models import Assignment, AssignmentStatus
from posture.models import with_instances
from recommendations.models import Finding, FindingState, RuleSeverity, Severity
from recommendations.models.rules import SEVERITY_RANK
from recommendations.rule_selectors import severity_rank

# The OS-configuration recommendations, whose unhealthy items are failed rules on machines.
OS_CONFIG_KEYS = ("machine-config-vulns", "vmss-config-vulns")
# Failed rules listed on an item's page; the machine's page lists them all.
FAILED_RULES_SHOWN = 50
SEVERITY_LABELS = {**dict(Severity.choices), **dict(RuleSeverity.choices)}
FIELD_LABELS = {"team": "Team", "owner": "Owner", "status": "Status", "due_date": "Due", "eta": "ETA"}
STATUS_LABELS = dict(AssignmentStatus.choices)
RANKED = {rank: severity for severity, rank in SEVERITY_RANK.items()}


@dataclass(frozen=True)
class Explanation:
    """Why an item is open: what its page and My items show beside it."""

    severity: str  # the value (critical, high, ...), for styling
    severity_label: str
    reason: str
    first_evidence: datetime
    # The OS-configuration rules failing behind an item of a machine (or a scale set's instances).
    failed_rules: list[Finding]
    failed_rules_total: int


def severity_of(item: Assignment, worst_rule: str = "") -> str:
    """A failed rule's own severity (a scan's, Critical included); for an OS-configuration item of a
    machine, its most severe failed rule's (`worst_rule`); else its recommendation's."""
    if item.finding_id is not None and item.finding is not None:
        return item.finding.severity or item.finding.rule.severity
    return worst_rule or item.assessment.recommendation.severity


def show_severities(items: list[Assignment]) -> None:
    """Give each item of a page `severity_shown` (severity_of), in one query for the OS-configuration
    items' most severe failed rules."""
    machines = {
        item.assessment.resource_id
        for item in items
        if item.finding_id is None and item.assessment.recommendation.key in OS_CONFIG_KEYS
    }
    worst: dict[int, int] = {}
    if machines:
        # The machines and the scale sets' instances first (a small subquery), then their findings by
        # index: an OR across the join made PostgreSQL group every open finding (0.35 s at 10,000).
        covered = with_instances(machines).values("pk")
        rows = (
            Finding.objects.filter(resource_id__in=covered, state=FindingState.OPEN)
            .annotate(rank=severity_rank(), machine=Coalesce("resource__parent_id", "resource_id"))
            .values("machine")
            .annotate(top=Max("rank"))
            .order_by()
        )
        worst = {row["machine"]: row["top"] for row in rows if row["machine"] in machines}
    for item in items:
        top = worst.get(item.assessment.resource_id) if item.finding_id is None else None
        severity = severity_of(item, RANKED.get(top, "") if top else "")
        # A page's attributes, not fields: templates read them beside the item.
        setattr(item, "severity_shown", severity)  # noqa: B010
        setattr(item, "severity_label", SEVERITY_LABELS.get(severity, severity.capitalize()))  # noqa: B010


def reason_of(item: Assignment) -> str:
    """The evaluated reason (under an exemption, the one it holds back, named as such)."""
    assessment = item.assessment
    if item.finding_id is not None and item.finding is not None:
        finding = item.finding
        rule = finding.rule.cce or finding.rule.rule_id
        expected = finding.expected or finding.rule.expected or "—"
        return f"Failed rule {rule}: expected {expected}, found {finding.actual or 'nothing'}"
    if assessment.exempted:
        evaluated = assessment.held_reason or assessment.get_held_status_display()
        return f"{assessment.reason} (evaluated: {evaluated})"
    return assessment.reason or assessment.cause or assessment.get_status_display()


def failed_rules(item: Assignment) -> QuerySet[Finding]:
    """The open failed rules behind an OS-configuration item: the one rule of a rule's item, else the
    machine's, or its instances' for a scale set; most severe first."""
    if item.finding_id is not None:
        found = Finding.objects.filter(pk=item.finding_id)
    elif item.assessment.recommendation.key in OS_CONFIG_KEYS:
        covered = with_instances([item.assessment.resource_id]).values("pk")
        found = Finding.objects.filter(resource_id__in=covered, state=FindingState.OPEN)
    else:
        return Finding.objects.none()
    return (
        found.select_related("rule", "resource")
        .annotate(severity_rank=severity_rank())
        .order_by("-severity_rank", "rule__key", "resource__name", "pk")
    )


def explain(item: Assignment) -> Explanation:
    """Severity, reason, first evidence and failed rules of one item (a few queries, for its page)."""
    rules = failed_rules(item)
    shown = list(rules[:FAILED_RULES_SHOWN])
    severity = severity_of(item, shown[0].severity if shown and item.finding_id is None else "")
    total = len(shown) if len(shown) < FAILED_RULES_SHOWN else rules.count()
    return Explanation(
        severity=severity,
        severity_label=SEVERITY_LABELS.get(severity, severity.capitalize()),
        reason=reason_of(item),
        first_evidence=item.first_detected,
        failed_rules=shown,
        failed_rules_total=total,
    )


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    summary: str
    changes: list[FieldChange]


def _shown(name: str, value: Any) -> str:
    if value in (None, ""):
        return "—"
    if name == "status":
        return str(STATUS_LABELS.get(value, value))
    return str(value)


def changes_of(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FieldChange]:
    """The fields an audit event changed, old → new (a creation: from nothing)."""
    before, after = before or {}, after or {}
    changes = []
    for name, label in FIELD_LABELS.items():
        if name not in after:
            continue
        old, new = before.get(name), after.get(name)
        if old != new:
            changes.append(FieldChange(label, _shown(name, old), _shown(name, new)))
    if "text" in after:
        changes.append(FieldChange("Comment", "", str(after["text"])))
    return changes


def item_history(item: Assignment) -> list[HistoryEntry]:
    """The item's audit events, newest first, each with what it changed."""
    events = AuditEvent.objects.filter(object_type="assignment", object_id=str(item.pk))
    events = events.order_by("-at", "-pk")
    return [
        HistoryEntry(
            at=event.at,
            actor=event.actor_name or "Posture",
            action=event.action.replace("_", " "),
            summary=event.summary,
            changes=changes_of(event.before, event.after),
        )
        for event in events
    ]
