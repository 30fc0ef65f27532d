"""Governance rules: the one way to create, change and deactivate them, validated and audited.

Saving a rule runs the rules again, so unhealthy items nobody owns yet go to the first rule that
matches them (items already assigned keep their owner: a rule never takes an item from another).
"""

from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from audit import trail
from governance.assignments import apply_rules
from governance.models import GovernanceRule, Team, Timeframe
from posture.errors import UserError
from posture.models import OperatingSystem, ResourceKind
from recommendations.models import Recommendation, Severity

Person = User | AnonymousUser


@dataclass(frozen=True)
class RuleSpec:
    """What a rule selects and who gets it; empty selectors match everything."""

    name: str
    priority: int
    team: Team | None = None
    owner_email: str = ""
    owner_tag: str = ""
    timeframe_days: int = Timeframe.MONTH
    grace_period: bool = False
    severities: list[str] = field(default_factory=list)
    recommendation_keys: list[str] = field(default_factory=list)
    subscription_names: list[str] = field(default_factory=list)
    resource_group: str = ""
    tag_key: str = ""
    tag_value: str = ""
    os: str = ""
    kinds: list[str] = field(default_factory=list)


def _check_choices(label: str, values: list[str], allowed: list[str]) -> None:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise UserError(f"unknown {label} {', '.join(unknown)}: use {', '.join(allowed)}")


def validate(spec: RuleSpec, *, rule: GovernanceRule | None = None) -> None:
    """Raise a UserError naming the first problem of `spec` (for `rule`, when it is an edit)."""
    if not spec.name.strip():
        raise UserError("a rule needs a name")
    if spec.priority < 0:
        raise UserError("the priority is a number from 0 (lower runs first)")
    others = GovernanceRule.objects.exclude(pk=rule.pk) if rule is not None else GovernanceRule.objects.all()
    taken = others.filter(priority=spec.priority).first()
    if taken is not None:
        raise UserError(f"priority {spec.priority} is already the rule {taken.name!r}'s: choose another")
    if others.filter(name=spec.name.strip()).exists():
        raise UserError(f"a rule named {spec.name.strip()!r} exists already")
    if spec.team is None and not spec.owner_email.strip() and not spec.owner_tag.strip():
        raise UserError("a rule gives its items to a team, an owner's email, or the owner tag: set one")
    if spec.owner_email.strip():
        try:
            validate_email(spec.owner_email.strip())
        except ValidationError:
            raise UserError(f"{spec.owner_email.strip()!r} is not an email address") from None
    if spec.timeframe_days not in Timeframe.values:
        raise UserError(f"the timeframe is one of {', '.join(str(v) for v in Timeframe.values)} days")
    if spec.tag_value.strip() and not spec.tag_key.strip():
        raise UserError("a tag value is matched under a tag name: set the tag name too")
    _check_choices("severity", spec.severities, Severity.values)
    _check_choices("kind", spec.kinds, ResourceKind.values)
    if spec.os:
        _check_choices("OS", [spec.os], OperatingSystem.values)
    known = set(Recommendation.objects.filter(key__in=spec.recommendation_keys).values_list("key", flat=True))
    missing = [key for key in spec.recommendation_keys if key not in known]
    if missing:
        raise UserError(f"no recommendation {', '.join(missing)} in the catalog")


def snapshot(rule: GovernanceRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "priority": rule.priority,
        "active": rule.active,
        "team": rule.team.name if rule.team else None,
        "owner_email": rule.owner_email,
        "owner_tag": rule.owner_tag,
        "timeframe_days": rule.timeframe_days,
        "grace_period": rule.grace_period,
        "severities": rule.severities,
        "recommendation_keys": rule.recommendation_keys,
        "subscription_names": rule.subscription_names,
        "resource_group": rule.resource_group,
        "tag_key": rule.tag_key,
        "tag_value": rule.tag_value,
        "os": rule.os,
        "kinds": rule.kinds,
    }


def save_rule(
    *, user: Person, spec: RuleSpec, rule: GovernanceRule | None = None, ip: str | None = None
) -> tuple[GovernanceRule, int]:
    """Create a rule (or change `rule`), record it, and assign what it now matches.

    Returns the rule and how many unassigned items the rules assigned.
    """
    validate(spec, rule=rule)
    with transaction.atomic():
        before = snapshot(rule) if rule is not None else None
        fields = asdict(spec)
        fields["team"] = spec.team  # asdict copies the model instance deeply; keep the instance.
        fields.update(
            name=spec.name.strip(),
            owner_email=spec.owner_email.strip(),
            owner_tag=spec.owner_tag.strip(),
            resource_group=spec.resource_group.strip(),
            tag_key=spec.tag_key.strip(),
            tag_value=spec.tag_value.strip(),
        )
        if rule is None:
            rule = GovernanceRule.objects.create(**fields)
        else:
            for name, value in fields.items():
                setattr(rule, name, value)
            rule.save()
        trail.record(
            actor=user,
            action=trail.RULE,
            obj=rule,
            summary=f"governance rule {rule} {'created' if before is None else 'changed'}",
            before=before,
            after=snapshot(rule),
            ip=ip,
        )
    return rule, apply_rules()


def set_rule_active(
    *, user: Person, rule: GovernanceRule, active: bool, ip: str | None = None
) -> tuple[GovernanceRule, int]:
    """Deactivate a rule (its items keep their owners) or activate it again (and assign)."""
    if rule.active == active:
        return rule, 0
    with transaction.atomic():
        before = snapshot(rule)
        rule.active = active
        rule.save(update_fields=["active"])
        trail.record(
            actor=user,
            action=trail.RULE,
            obj=rule,
            summary=f"governance rule {rule} {'activated' if active else 'deactivated'}",
            before=before,
            after=snapshot(rule),
            ip=ip,
        )
    return rule, apply_rules() if active else 0
