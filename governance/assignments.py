"""Assignments: governance rules give unhealthy items to teams and owners; people assign, update and
comment; scans resolve and reopen. Every change is in the audit log.

Who may do what to which item is checked here (the route table only says who may call a route):
a tower's lead and members act on the tower's items only, and a lead assigns within the tower. The
caller's role, then the target team's tower, are decided before anything else is checked (an owner's
membership, a team's existence), and every refusal reads the same whatever the target: a tower learns
nothing of another tower's teams and people by trying them.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from audit import trail
from governance.models import Assignment, AssignmentStatus, Comment, GovernanceRule, Team
from governance.notifications import notify_assigned
from governance.roles import TOWER_ROLES, Role, role_of, teams_of
from governance.selectors import is_member
from governance.towers import refresh_tower_summaries
from posture.errors import UserError
from recommendations.models import Assessment, AssessmentStatus, Finding, FindingState

Person = User | AnonymousUser
CHUNK = 2000
# The refusals of reassigning: the same words whatever team or owner was named.
MEMBER_REFUSAL = "a tower member cannot reassign items; ask the tower lead"
ASSIGN_REFUSAL = "only analysts assign to another team; a lead assigns within the tower"


RISK_ACCEPTED_BY_REQUEST = (
    "Risk accepted is requested with an expiry and approved by an analyst: use Request an exemption"
)


class NotAllowed(UserError):
    pass


def _snapshot(item: Assignment) -> dict[str, Any]:
    return {
        "team": item.team.name if item.team else None,
        "owner": item.owner,
        "status": item.status,
        "due_date": item.due_date.isoformat(),
        "eta": item.eta.isoformat() if item.eta else None,
    }


def _describe(item: Assignment) -> str:
    assessment = item.assessment
    what = f"{assessment.recommendation.display_name} on {assessment.resource.name}"
    if item.finding_id:
        what = f"{item.finding.rule.title} on {assessment.resource.name}"  # type: ignore[union-attr]
    return what


# --- governance rules -------------------------------------------------------------------------------


def rule_matches(rule: GovernanceRule, assessment: Assessment) -> bool:
    resource = assessment.resource
    recommendation = assessment.recommendation
    tags = resource.tags if isinstance(resource.tags, dict) else {}
    checks = (
        not rule.severities or recommendation.severity in rule.severities,
        not rule.recommendation_keys or recommendation.key in rule.recommendation_keys,
        not rule.subscription_names or resource.subscription.name in rule.subscription_names,
        not rule.resource_group or resource.resource_group.lower() == rule.resource_group.lower(),
        not rule.tag_key
        or (rule.tag_key in tags and (not rule.tag_value or tags[rule.tag_key] == rule.tag_value)),
        not rule.os or resource.os == rule.os,
        not rule.kinds or resource.kind in rule.kinds,
    )
    return all(checks)


def _owner(rule: GovernanceRule, assessment: Assessment) -> str:
    if rule.owner_tag:
        tags = assessment.resource.tags if isinstance(assessment.resource.tags, dict) else {}
        return str(tags.get(rule.owner_tag, ""))[:254]
    return rule.owner_email


def first_detected(assessment: Assessment, finding: Finding | None = None) -> datetime:
    """When the item's evidence first showed it failing: for a failed rule, the first scan that
    found it; for an assessment, its last status change, which the evaluators and the Defender import
    date from the evidence (a scan's end time, Defender's dates), not from the import."""
    if finding is not None and finding.first_seen is not None:
        return finding.first_seen
    return assessment.status_changed


def due_date(detected: datetime, days: int) -> date:
    return timezone.localdate(detected + timedelta(days=days))


def _unassigned_unhealthy(resource_ids: Iterable[int] | None) -> Any:
    assessed = Assignment.objects.filter(assessment=OuterRef("pk"), finding__isnull=True)
    queryset = Assessment.objects.filter(status=AssessmentStatus.UNHEALTHY).exclude(Exists(assessed))
    if resource_ids is not None:
        queryset = queryset.filter(resource_id__in=list(resource_ids))
    return queryset.select_related("resource__subscription", "recommendation").order_by("pk")


def apply_rules(resource_ids: Iterable[int] | None = None) -> int:
    """Give each unassigned unhealthy item (of these resources, or all) to the first matching rule."""
    rules = list(GovernanceRule.objects.filter(active=True).select_related("team").order_by("priority"))
    if not rules:
        return 0
    made = 0
    ids = None if resource_ids is None else list(resource_ids)
    batches = [None] if ids is None else [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    for batch in batches:
        created: list[Assignment] = []
        graced: list[Assessment] = []
        for assessment in _unassigned_unhealthy(batch).iterator(chunk_size=CHUNK):
            rule = next((r for r in rules if rule_matches(r, assessment)), None)
            if rule is None:
                continue
            detected = first_detected(assessment)
            item = Assignment(
                assessment=assessment,
                team=rule.team,
                owner=_owner(rule, assessment),
                rule=rule,
                first_detected=detected,
                due_date=due_date(detected, rule.timeframe_days),
                grace_period=rule.grace_period,
            )
            created.append(item)
            if rule.grace_period:
                assessment.grace_until = item.due_date
                graced.append(assessment)
        with transaction.atomic():
            Assignment.objects.bulk_create(created, batch_size=1000)
            Assessment.objects.bulk_update(graced, ["grace_until"], batch_size=1000)
            refresh_tower_summaries({item.assessment.resource_id for item in created})
            trail.record_many(
                trail.event(
                    actor=None,
                    action=trail.ASSIGN,
                    obj=item,
                    summary=f"rule {item.rule} assigned {_describe(item)}",
                    after=_snapshot(item),
                )
                for item in created
            )
        notify_assigned(item.pk for item in created)
        made += len(created)
    return made


# --- people acting on items -------------------------------------------------------------------------


def can_act_on(user: Person, item: Assignment) -> bool:
    role = role_of(user)
    if role in (Role.ADMIN, Role.ANALYST):
        return True
    if role in TOWER_ROLES:
        return item.team_id is not None and teams_of(user).filter(pk=item.team_id).exists()
    return False


def _check_can_act(user: Person, item: Assignment) -> None:
    if not can_act_on(user, item):
        raise NotAllowed("you cannot change this item")


@dataclass(frozen=True)
class Change:
    team: Team | None = None
    owner: str | None = None
    status: str | None = None
    eta: date | None = None
    clear_eta: bool = False
    due: date | None = None
    comment: str = ""


def _check_owner(owner: str, team: Team | None) -> None:
    """An owner given together with a team must be one of the team's users (by email). Only asked once
    the caller may assign to the team, so the team is one the caller knows."""
    if owner and team is not None and not is_member(owner, team.pk):
        raise UserError(f"{owner} is not a member of {team.name}")


def _check_assign(user: Person, team: Team | None) -> None:
    role = role_of(user)
    if role in (Role.ADMIN, Role.ANALYST):
        return
    if role == Role.MEMBER:
        raise NotAllowed(MEMBER_REFUSAL)
    if role == Role.LEAD and team is not None and teams_of(user).filter(pk=team.pk).exists():
        return
    raise NotAllowed(ASSIGN_REFUSAL)


def target_team(user: Person, raw: str | int | None) -> Team | None:
    """The team a user gives items to, named by its id (None or "": no team), authorized before it is
    even looked up: a tower member gives items to nobody, a lead only within the towers (a team outside
    them, another tower's or one that does not exist, is the one refusal ASSIGN_REFUSAL), analysts and
    admins to any team (to them an unknown id is a plain mistake)."""
    role = role_of(user)
    if role not in (Role.ADMIN, Role.ANALYST, Role.LEAD):
        raise NotAllowed(MEMBER_REFUSAL if role == Role.MEMBER else ASSIGN_REFUSAL)
    text = "" if raw is None else str(raw).strip()
    if not text:
        if role == Role.LEAD:
            raise NotAllowed(ASSIGN_REFUSAL)
        return None
    teams = teams_of(user) if role == Role.LEAD else Team.objects.all()
    is_id = text.isascii() and text.isdigit() and len(text) < 19
    team = teams.filter(pk=int(text)).first() if is_id else None
    if team is None:
        if role == Role.LEAD:
            raise NotAllowed(ASSIGN_REFUSAL)
        raise UserError(f"there is no team {text!r}")
    return team


@transaction.atomic
def update_item(*, user: Person, item: Assignment, change: Change, ip: str | None = None) -> Assignment:
    """Apply one person's change to one item, checked against their role, and record it. An owner
    (an email) given with the item's team, or with the team it moves to, must be one of its members."""
    _check_can_act(user, item)
    before = _snapshot(item)
    team_before = item.team_id
    entries: list[Any] = []
    if change.team is not None or change.owner is not None or change.due is not None:
        role = role_of(user)
        if role == Role.MEMBER:
            raise NotAllowed(MEMBER_REFUSAL)
        if change.team is not None:
            _check_assign(user, change.team)
        elif role == Role.LEAD:
            _check_assign(user, item.team)
        team = item.team if change.team is None else change.team
        if change.owner is not None:
            owner = change.owner.strip()
            # An owner kept with the team kept is not asked again (people leave teams).
            if owner != item.owner or team != item.team:
                _check_owner(owner, team)
            item.owner = owner
        item.team = team
        if change.due is not None:
            item.due_date = change.due
        item.manual = True
        item.rule = None
        entries.append(trail.ASSIGN)
        notify_assigned([item.pk])
    if change.status is not None and change.status != item.status:
        if change.status not in AssignmentStatus.values:
            raise UserError(f"status {change.status!r} is not one of {', '.join(AssignmentStatus.values)}")
        if change.status == AssignmentStatus.RISK_ACCEPTED:
            raise UserError(RISK_ACCEPTED_BY_REQUEST)
        item.status = change.status
        item.resolved_at = timezone.now() if change.status == AssignmentStatus.RESOLVED else None
        entries.append(trail.STATUS)
    if change.clear_eta or (change.eta is not None and change.eta != item.eta):
        item.eta = None if change.clear_eta else change.eta
        entries.append(trail.ETA)
    item.save()
    if item.team_id != team_before:
        refresh_tower_summaries([item.assessment.resource_id])
    after = _snapshot(item)
    for action in entries:
        trail.record(
            actor=user,
            action=action,
            obj=item,
            summary=f"{action.replace('_', ' ')}: {_describe(item)}",
            before=before,
            after=after,
            ip=ip,
        )
    if change.comment.strip():
        Comment.objects.create(
            assignment=item, author=user if user.is_authenticated else None, text=change.comment.strip()
        )
        trail.record(
            actor=user,
            action=trail.COMMENT,
            obj=item,
            summary=f"comment on {_describe(item)}",
            after={"text": change.comment.strip()},
            ip=ip,
        )
    return item


@transaction.atomic
def assign(
    *,
    user: Person,
    assessment: Assessment,
    team: Team | None,
    owner: str = "",
    due: date | None = None,
    finding: Finding | None = None,
    ip: str | None = None,
) -> Assignment:
    """Assign an item by hand (it then overrides any rule); a failed rule of a machine can be one item.
    The owner, if given with a team, must be one of its members."""
    _check_assign(user, team)
    if finding is not None and finding.resource_id != assessment.resource_id:
        raise UserError("the failed rule is not on the assessment's machine")
    owner = owner.strip()
    existing = Assignment.objects.filter(assessment=assessment, finding=finding).first()
    if existing is not None:
        return update_item(
            user=user,
            item=existing,
            change=Change(team=team, owner=owner, due=due or existing.due_date),
            ip=ip,
        )
    _check_owner(owner, team)
    detected = first_detected(assessment, finding)
    item = Assignment.objects.create(
        assessment=assessment,
        finding=finding,
        team=team,
        owner=owner,
        manual=True,
        first_detected=detected,
        due_date=due or due_date(detected, 30),
    )
    refresh_tower_summaries([assessment.resource_id])
    trail.record(
        actor=user,
        action=trail.ASSIGN,
        obj=item,
        summary=f"assigned {_describe(item)}",
        after=_snapshot(item),
        ip=ip,
    )
    notify_assigned([item.pk])
    return item


def set_decided_status(
    *, user: Person | None, item: Assignment, status: str, note: str, ip: str | None = None
) -> None:
    """Set the status an exemption request decided (Risk accepted when approved, Open again when it
    expires), with a note on the item; the only way to Risk accepted (update_item refuses it)."""
    if item.status == status:
        return
    before = _snapshot(item)
    item.status = status
    item.resolved_at = None
    item.save(update_fields=["status", "resolved_at", "updated_at"])
    Comment.objects.create(assignment=item, author=None, text=note)
    trail.record(
        actor=user, action=trail.STATUS, obj=item, summary=note, before=before, after=_snapshot(item), ip=ip
    )


# --- evidence resolving and reopening items ---------------------------------------------------------


def _still_failing(item: Assignment) -> bool:
    if item.finding_id is not None:
        return item.finding.state == FindingState.OPEN  # type: ignore[union-attr]
    return item.assessment.status == AssessmentStatus.UNHEALTHY


def reconcile(resource_ids: Iterable[int], *, evidence_at: datetime) -> dict[str, int]:
    """After new evidence about these resources: items it shows fixed are resolved; resolved items it
    shows still failing reopen, with a note saying so. Risk-accepted items stay as they are."""
    ids = list(resource_ids)
    counts = {"resolved": 0, "reopened": 0}
    for start in range(0, len(ids), CHUNK):
        items = (
            Assignment.objects.filter(assessment__resource_id__in=ids[start : start + CHUNK])
            .exclude(status=AssignmentStatus.RISK_ACCEPTED)
            .select_related("assessment__resource", "assessment__recommendation", "finding__rule")
        )
        for item in items:
            if item.assessment.exempted:
                # An exemption is its own decision: it neither resolves nor reopens the item.
                continue
            failing = _still_failing(item)
            when = evidence_at.strftime("%Y-%m-%d %H:%M UTC")
            if item.status == AssignmentStatus.RESOLVED and failing:
                if item.resolved_at is not None and item.resolved_at > evidence_at:
                    continue
                change, note = (
                    AssignmentStatus.OPEN,
                    f"Reopened: the evidence of {when} still finds it failing.",
                )
                counts["reopened"] += 1
            elif item.status != AssignmentStatus.RESOLVED and not failing:
                change, note = (
                    AssignmentStatus.RESOLVED,
                    f"Resolved: the evidence of {when} no longer finds it failing.",
                )
                counts["resolved"] += 1
            else:
                continue
            before = _snapshot(item)
            item.status = change
            item.resolved_at = evidence_at if change == AssignmentStatus.RESOLVED else None
            item.save(update_fields=["status", "resolved_at", "updated_at"])
            Comment.objects.create(assignment=item, author=None, text=note)
            trail.record(
                actor=None, action=trail.STATUS, obj=item, summary=note, before=before, after=_snapshot(item)
            )
    return counts
