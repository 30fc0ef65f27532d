"""Findings with their governance: the filters of the findings exports and API, and the one selection.

A finding's team, owner, due date and status are those of its own item (an Assignment of that failed
rule) if it has one, else of the item of its machine's OS-configuration assessment
(machine-config-vulns for a VM or Arc machine, vmss-config-vulns of the scale set for an instance).
Only items the reader may see count (governance.scoping.item_condition): on a machine two towers
share, another tower's item of a failed rule is not there for a tower, which reads the rule as if it
had no item of its own (its machine's item, if it sees that one).
Severity, OS and rule type are the catalog's (Rule), as on the OS-configuration pages.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

import django_filters
from django.db.models import (
    CharField,
    DateField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from governance.models import AssignmentStatus
from governance.scoping import Reader, scope_for_user, visible_assignments, visible_resources
from posture.errors import UserError
from posture.models import OperatingSystem, ResourceKind
from posture.scope import scope_for
from recommendations.evaluators.os_config import MACHINE_KEY, SCALE_SET_KEY
from recommendations.models import Finding, FindingState
from recommendations.models.rules import RuleSeverity
from recommendations.selectors import UNKNOWN_OS

OS_CONFIG_KEYS = (MACHINE_KEY, SCALE_SET_KEY)
# The machine kinds whose findings roll up into each OS-configuration recommendation.
KINDS_OF_KEY = {
    MACHINE_KEY: (ResourceKind.VM, ResourceKind.ARC_MACHINE),
    SCALE_SET_KEY: (ResourceKind.VMSS_INSTANCE,),
}
# An item that is done is never overdue.
CLOSED_STATUSES = (AssignmentStatus.RESOLVED, AssignmentStatus.RISK_ACCEPTED)
# `?severity=all`: every severity, instead of the default: the critical findings.
ALL_SEVERITIES = "all"
# "Critical findings", what an export without `severity` selects (the one-click export of the pages,
# the API, manage.py export_findings): the top of both scales, Defender's Critical and XCCDF's high.
# A fixed set, so that the same click means the same thing in every scope and on every day.
CRITICAL_SEVERITIES = (RuleSeverity.CRITICAL.value, RuleSeverity.HIGH.value)


class BadFindingFilter(UserError):
    """A findings filter that cannot be applied (unknown value, malformed date)."""


def with_governance(findings: QuerySet[Finding], reader: Reader) -> QuerySet[Finding]:
    """Findings annotated with team_id, team, owner, due_date and status from the items the reader may
    see (None when the reader sees nobody having it): the finding's own item's, else its machine's (or
    scale set's) OS-configuration item's."""
    items = visible_assignments(reader)
    own = items.filter(finding_id=OuterRef("pk")).order_by()
    machine = items.filter(
        Q(assessment__resource_id=OuterRef("resource_id"))
        | Q(assessment__resource_id=OuterRef("resource__parent_id")),
        finding__isnull=True,
        assessment__recommendation__key__in=OS_CONFIG_KEYS,
    )

    def column(name: str, output: Any) -> Coalesce:
        return Coalesce(
            Subquery(own.values(name)[:1], output_field=output),
            Subquery(machine.values(name)[:1], output_field=output),
        )

    return findings.annotate(
        team_id=column("team_id", IntegerField()),
        team=column("team__name", CharField()),
        owner=column("owner", CharField()),
        due_date=column("due_date", DateField()),
        status=column("status", CharField()),
    )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class FindingFilterSet(django_filters.FilterSet):
    """Every filter of the findings exports (and of the findings API). Multi-valued filters take a
    repeated parameter or a comma-separated list."""

    severity = django_filters.CharFilter(
        method="filter_severity",
        help_text="critical, high, medium, low, info, unknown (several: comma-separated), or `all`; "
        "without it the critical findings: critical and high",
    )
    state = django_filters.ChoiceFilter(choices=FindingState.choices, help_text="default: open")
    os = django_filters.ChoiceFilter(
        field_name="rule__os",
        method="filter_os",
        choices=[(v or UNKNOWN_OS, label) for v, label in OperatingSystem.choices],
        help_text="the rule's OS: linux, windows or unknown",
    )
    rule_type = django_filters.CharFilter(field_name="rule__rule_type", help_text="the rule's type")
    rule = django_filters.CharFilter(method="filter_rule", help_text="a rule's id or key (CCE ID)")
    benchmark = django_filters.NumberFilter(field_name="rule__benchmark_id", help_text="a benchmark's id")
    q = django_filters.CharFilter(method="filter_query", help_text="part of the rule's key, id or title")
    recommendation = django_filters.ChoiceFilter(
        method="filter_recommendation",
        choices=[(key, key) for key in OS_CONFIG_KEYS],
        help_text="the machines' OS-configuration recommendation",
    )
    resource = django_filters.NumberFilter(field_name="resource_id", help_text="a resource's id")
    subscription = django_filters.CharFilter(
        method="filter_subscription", help_text="a subscription's name or id, or group:NAME"
    )
    resource_group = django_filters.CharFilter(field_name="resource__resource_group", lookup_expr="iexact")
    tag = django_filters.CharFilter(method="filter_tag", help_text="key=value, or key for any value")
    team = django_filters.CharFilter(method="filter_team", help_text="a team's name or id")
    owner = django_filters.CharFilter(field_name="owner", lookup_expr="iexact", help_text="an e-mail")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    overdue = django_filters.CharFilter(
        method="filter_overdue", help_text="true (1, yes): past due and not closed; false (0, no): the others"
    )
    first_seen_after = django_filters.IsoDateTimeFilter(field_name="first_seen", lookup_expr="gte")
    first_seen_before = django_filters.IsoDateTimeFilter(field_name="first_seen", lookup_expr="lte")

    class Meta:
        model = Finding
        fields: list[str] = []

    def __init__(self, *args: Any, reader: Reader = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Whose `?subscription=` this is: another tower's subscription or group is unknown to a tower.
        self.reader = reader

    def filter_severity(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        values = _split(value)
        if ALL_SEVERITIES in values:
            return queryset
        unknown = [v for v in values if v not in RuleSeverity.values]
        if unknown:
            raise BadFindingFilter(
                f"unknown severity {unknown[0]!r}: use {', '.join(RuleSeverity.values)} or {ALL_SEVERITIES}"
            )
        return queryset.filter(rule__severity__in=values)

    def filter_os(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        return queryset.filter(rule__os="" if value == UNKNOWN_OS else value)

    def filter_rule(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        condition = Q(rule__key=value) | Q(rule__cce=value)
        if value.isascii() and value.isdigit() and len(value) < 19:
            condition |= Q(rule_id=int(value))
        return queryset.filter(condition)

    def filter_query(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        # As the OS-configuration pages search (recommendations.rule_selectors).
        return queryset.filter(
            Q(rule__key__icontains=value)
            | Q(rule__rule_id__icontains=value)
            | Q(rule__title__icontains=value)
        )

    def filter_recommendation(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        return queryset.filter(resource__kind__in=KINDS_OF_KEY[value])

    def filter_subscription(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        # The pages' `?subscription=`: a name, an id or group:NAME, with their messages when unknown,
        # resolved among what the reader sees (a subscription of another tower is an unknown one).
        scope = scope_for(value) if self.reader is None else scope_for_user(value, self.reader)
        ids = scope.subscription_ids
        return queryset if ids is None else queryset.filter(resource__subscription_id__in=ids)

    def filter_tag(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        key, has_value, tag_value = value.partition("=")
        key = key.strip()
        if not key:
            raise BadFindingFilter("a tag filter is key=value or key")
        if not has_value:
            return queryset.filter(resource__tags__has_key=key)
        # As text, so that SQLite compares it as PostgreSQL does (not as a JSON value).
        text = Cast(KeyTextTransform(key, "resource__tags"), output_field=TextField())
        return queryset.alias(tag_value=text).filter(tag_value=tag_value)

    def filter_team(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        if value.isascii() and value.isdigit() and len(value) < 19:
            return queryset.filter(Q(team_id=int(value)) | Q(team=value))
        return queryset.filter(Q(team=value))

    def filter_overdue(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        wanted = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
            value.lower()
        )
        if wanted is None:
            raise BadFindingFilter(f"overdue is true or false, not {value!r}")
        overdue = Q(due_date__lt=timezone.localdate()) & ~Q(status__in=CLOSED_STATUSES)
        return queryset.filter(overdue) if wanted else queryset.exclude(overdue)


def findings_for(user: Reader, params: Mapping[str, Any]) -> tuple[QuerySet[Finding], dict[str, str]]:
    """The findings `params` select among those the user may see, with their governance columns, and
    the filters applied (defaults included: state open, the critical findings). user=None is the
    command line's: the whole estate.

    Raises BadFindingFilter (or an UnknownSubscription) with a message for the user."""
    data = _flatten(params)
    data.setdefault("state", FindingState.OPEN)
    data.setdefault("severity", ",".join(CRITICAL_SEVERITIES))
    findings = with_governance(Finding.objects.all(), user)
    resources = None if user is None else visible_resources(user)
    if resources is not None:
        # A tower's members: the findings of the machines of their towers' items.
        findings = findings.filter(resource_id__in=resources.values("pk"))
    filterset = FindingFilterSet(data, queryset=findings, reader=user)
    if not filterset.is_valid():
        field, errors = next(iter(filterset.errors.items()))
        raise BadFindingFilter(f"{field}: {' '.join(str(e) for e in errors)}")
    used = {name: str(data[name]) for name in FindingFilterSet.base_filters if name in data}
    return filterset.qs, used


def _flatten(params: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict of the parameters; a repeated one (?severity=a&severity=b) joined by commas."""
    flat: dict[str, Any] = {}
    for name in params:
        values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
        values = [v for v in values if v not in (None, "")]
        if not values:
            continue
        flat[name] = ",".join(str(v) for v in values) if len(values) > 1 else values[0]
    return flat


Governance = tuple[str | None, str | None, date | None, str | None]
NO_GOVERNANCE: Governance = (None, None, None, None)


def machine_governance(findings: QuerySet[Finding], reader: Reader) -> dict[int | None, Governance]:
    """Team name, owner, due date and status of the OS-configuration item of each machine (and scale
    set) the findings are on, among the items the reader may see, by resource id: what with_governance
    falls back to, read once for an export instead of per row. It grows with the machines, not with the
    findings."""
    items = visible_assignments(reader).filter(
        finding__isnull=True, assessment__recommendation__key__in=OS_CONFIG_KEYS
    )
    columns = ("assessment__resource_id", "team__name", "owner", "due_date", "status")
    # Two semi-joins: one `IN (...) OR IN (...)` makes PostgreSQL rescan the findings for every item.
    machines = items.filter(assessment__resource_id__in=findings.order_by().values("resource_id"))
    scale_sets = items.filter(assessment__resource_id__in=findings.order_by().values("resource__parent_id"))
    return {
        resource: (team, owner, due, status)
        for query in (machines, scale_sets)
        for resource, team, owner, due, status in query.values_list(*columns)
    }
