"""REST endpoints of governance: teams, assignments and their comments, exemptions, governance rules.

Reads are the caller's (a tower's lead or member sees the tower's teams and items; another tower's item
is a 404). Every write goes through the audited services (governance/assignments.py, exemptions.py,
rules.py), which also decide who may change what, before they check any value: a refusal there is a
403, a bad value a 400.
"""

from dataclasses import fields as dataclass_fields
from typing import Any

import django_filters
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from governance import assignments, exemptions, rules
from governance.assignments import target_team
from governance.models import (
    Assignment,
    AssignmentStatus,
    Comment,
    Exemption,
    ExemptionCategory,
    GovernanceRule,
    Membership,
    Team,
    Timeframe,
)
from governance.roles import TOWER_ROLES, role_of, teams_of
from governance.scoping import visible_assignments
from governance.selectors import in_scope as items_in_scope
from posture.errors import UserError
from posture.models import Resource, Subscription
from recommendations.models import Assessment, Finding, Recommendation, Severity
from recommendations.selectors import in_scope
from web.api.base import LIST_BACKENDS, SUBSCRIPTION_PARAMETER, Cursor, IdFilter, caller_scope


def client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def refusal(error: UserError) -> Response:
    """A service's refusal (403) or a bad value (400), with its message."""
    code = (
        status.HTTP_403_FORBIDDEN
        if isinstance(error, assignments.NotAllowed)
        else status.HTTP_400_BAD_REQUEST
    )
    return Response({"detail": error.message}, status=code)


def person(request: Request) -> User | AnonymousUser:
    return request.user


# --- teams ------------------------------------------------------------------------------------------


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ("user", "is_lead")


class TeamSerializer(serializers.ModelSerializer[Team]):
    members = MembershipSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ("id", "name", "created_at", "members")


class TeamFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="part of the name")

    class Meta:
        model = Team
        fields = ("name",)


class TeamList(generics.ListAPIView[Team]):
    """The teams (towers) and who is in them; a tower's members get their own towers."""

    serializer_class = TeamSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = TeamFilter
    ordering_fields = ("id", "name")

    def get_queryset(self) -> QuerySet[Team]:
        user = person(self.request)
        teams = teams_of(user) if role_of(user) in TOWER_ROLES else Team.objects.all()
        return teams.prefetch_related("memberships__user")


# --- assignments ------------------------------------------------------------------------------------


class AssignmentSerializer(serializers.ModelSerializer[Assignment]):
    resource = serializers.IntegerField(source="assessment.resource_id", read_only=True)
    resource_name = serializers.CharField(source="assessment.resource.name", read_only=True)
    recommendation = serializers.CharField(source="assessment.recommendation.key", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Assignment
        fields = (
            "id",
            "assessment",
            "finding",
            "resource",
            "resource_name",
            "recommendation",
            "team",
            "team_name",
            "owner",
            "rule",
            "manual",
            "status",
            "first_detected",
            "due_date",
            "grace_period",
            "eta",
            "resolved_at",
            "created_at",
            "updated_at",
        )


class AssignmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AssignmentStatus.choices)
    team = IdFilter(field_name="team_id", help_text="a team's id")
    owner = django_filters.CharFilter(lookup_expr="iexact")
    recommendation = django_filters.CharFilter(
        field_name="assessment__recommendation__key", help_text="its key"
    )
    resource = IdFilter(field_name="assessment__resource_id", help_text="a resource's id")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lt")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")

    class Meta:
        model = Assignment
        fields = (
            "status",
            "team",
            "owner",
            "recommendation",
            "resource",
            "manual",
            "due_before",
            "due_after",
        )


class AssignmentCreate(serializers.Serializer[dict[str, Any]]):
    assessment = serializers.IntegerField(help_text="the assessment (resource x recommendation) to assign")
    finding = serializers.IntegerField(required=False, allow_null=True, help_text="one failed rule of it")
    team = serializers.IntegerField(required=False, allow_null=True, help_text="a team's id")
    owner = serializers.CharField(required=False, allow_blank=True, default="", max_length=254)
    due_date = serializers.DateField(required=False, allow_null=True)


class AssignmentChange(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=AssignmentStatus.choices, required=False)
    owner = serializers.CharField(required=False, allow_blank=True, max_length=254)
    team = serializers.IntegerField(required=False, help_text="a team's id: reassigns the item")
    eta = serializers.DateField(required=False, allow_null=True, help_text="null clears it")
    due_date = serializers.DateField(required=False)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=10000)


def visible_items(request: Request) -> QuerySet[Assignment]:
    items = items_in_scope(visible_assignments(person(request)), caller_scope(request))
    return items.select_related("assessment__resource", "assessment__recommendation", "team")


@extend_schema(parameters=[SUBSCRIPTION_PARAMETER])
class AssignmentList(generics.ListAPIView[Assignment]):
    """Governance items the caller may see; POST assigns an item by hand (analysts, a lead within the
    tower), as governance.assignments.assign does for the resource page."""

    serializer_class = AssignmentSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = AssignmentFilter
    ordering_fields = ("id", "due_date", "first_detected", "status", "updated_at")

    def get_queryset(self) -> QuerySet[Assignment]:
        return visible_items(self.request)

    @extend_schema(request=AssignmentCreate, responses={200: AssignmentSerializer, 201: AssignmentSerializer})
    def post(self, request: Request) -> Response:
        data = AssignmentCreate(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        scope = caller_scope(request)
        # Only what the caller can see can be assigned: another tower's assessment is a 404.
        assessment = get_object_or_404(
            Assessment.objects.filter(in_scope(scope, "resource__subscription_id")), pk=values["assessment"]
        )
        finding = None
        if values.get("finding") is not None:
            finding = get_object_or_404(
                Finding.objects.filter(resource_id=assessment.resource_id), pk=values["finding"]
            )
        existed = Assignment.objects.filter(assessment=assessment, finding=finding).exists()
        try:
            team = target_team(person(request), values.get("team"))
            if team is None and not values.get("owner", "").strip():
                raise UserError("choose a team or give an owner")
            item = assignments.assign(
                user=person(request),
                assessment=assessment,
                team=team,
                owner=values.get("owner", ""),
                due=values.get("due_date"),
                finding=finding,
                ip=client_ip(request),
            )
        except UserError as error:
            return refusal(error)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(AssignmentSerializer(item).data, status=code)


class AssignmentDetail(generics.RetrieveAPIView[Assignment]):
    """One item; PATCH changes its status, owner, team, ETA or due date, and may add a comment
    (governance.assignments.update_item: a member changes status and ETA, a lead also reassigns)."""

    serializer_class = AssignmentSerializer

    def get_queryset(self) -> QuerySet[Assignment]:
        return visible_items(self.request)

    @extend_schema(request=AssignmentChange, responses=AssignmentSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        item = self.get_object()
        data = AssignmentChange(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            # Reassigning to a team: the caller's role and the team's tower are decided first.
            team = target_team(person(request), values["team"]) if "team" in values else None
            change = assignments.Change(
                team=team,
                owner=values.get("owner"),
                status=values.get("status"),
                eta=values.get("eta"),
                clear_eta="eta" in values and values["eta"] is None,
                due=values.get("due_date"),
                comment=values.get("comment", ""),
            )
            item = assignments.update_item(
                user=person(request), item=item, change=change, ip=client_ip(request)
            )
        except UserError as error:
            return refusal(error)
        return Response(AssignmentSerializer(item).data)


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Comment
        fields = ("id", "author", "text", "created_at")
        read_only_fields = ("id", "author", "created_at")


class CommentList(generics.ListAPIView[Comment]):
    """The comments of an item, oldest first; POST adds one (those who may act on the item)."""

    serializer_class = CommentSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    ordering_fields = ("id", "created_at")

    def item(self) -> Assignment:
        return get_object_or_404(visible_items(self.request), pk=self.kwargs["pk"])

    def get_queryset(self) -> QuerySet[Comment]:
        if getattr(self, "swagger_fake_view", False):
            return Comment.objects.none()
        return Comment.objects.filter(assignment=self.item()).select_related("author")

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        item = self.item()
        data = CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        text = data.validated_data["text"]
        if not text.strip():
            return Response({"text": ["a comment needs some text"]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            assignments.update_item(
                user=person(request),
                item=item,
                change=assignments.Change(comment=text),
                ip=client_ip(request),
            )
        except UserError as error:
            return refusal(error)
        comment = Comment.objects.filter(assignment=item).order_by("-pk").select_related("author").first()
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


# --- exemptions -------------------------------------------------------------------------------------


class ExemptionSerializer(serializers.ModelSerializer[Exemption]):
    recommendation = serializers.SlugRelatedField(
        slug_field="key", queryset=Recommendation.objects.all(), help_text="its key"
    )
    subscription = serializers.PrimaryKeyRelatedField(
        queryset=Subscription.objects.all(), required=False, allow_null=True
    )
    resource = serializers.PrimaryKeyRelatedField(
        queryset=Resource.objects.all(), required=False, allow_null=True
    )
    scope = serializers.CharField(source="scope_label", read_only=True)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Exemption
        fields = (
            "id",
            "recommendation",
            "subscription",
            "resource_group",
            "resource",
            "scope",
            "category",
            "justification",
            "expires_at",
            "created_by",
            "created_at",
            "ended_at",
        )
        read_only_fields = ("id", "scope", "created_by", "created_at", "ended_at")


class ExemptionFilter(django_filters.FilterSet):
    recommendation = django_filters.CharFilter(field_name="recommendation__key", help_text="its key")
    category = django_filters.ChoiceFilter(choices=ExemptionCategory.choices)
    active = django_filters.BooleanFilter(method="filter_active", help_text="not ended nor expired")

    class Meta:
        model = Exemption
        fields = ("recommendation", "category", "subscription", "resource", "active")

    def filter_active(self, queryset: QuerySet[Exemption], name: str, value: bool) -> QuerySet[Exemption]:
        live = exemptions.active().values("pk")
        return queryset.filter(pk__in=live) if value else queryset.exclude(pk__in=live)


class ExemptionQueryset:
    def get_queryset(self) -> QuerySet[Exemption]:
        return Exemption.objects.select_related("recommendation", "subscription", "resource", "created_by")


class ExemptionList(ExemptionQueryset, generics.ListAPIView[Exemption]):
    """Exemptions, newest first; POST exempts (analysts), as governance.exemptions.create_exemption."""

    serializer_class = ExemptionSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = ExemptionFilter
    ordering_fields = ("id", "created_at")
    ordering = ("-id",)

    @extend_schema(request=ExemptionSerializer, responses={201: ExemptionSerializer})
    def post(self, request: Request) -> Response:
        data = ExemptionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            exemption = exemptions.create_exemption(
                user=person(request),
                recommendation=values["recommendation"],
                category=values["category"],
                justification=values["justification"],
                expires_at=values.get("expires_at"),
                subscription=values.get("subscription"),
                resource_group=values.get("resource_group", ""),
                resource=values.get("resource"),
                ip=client_ip(request),
            )
        except UserError as error:
            return refusal(error)
        return Response(ExemptionSerializer(exemption).data, status=status.HTTP_201_CREATED)


class ExemptionDetail(ExemptionQueryset, generics.RetrieveAPIView[Exemption]):
    serializer_class = ExemptionSerializer


class ExemptionEnd(ExemptionQueryset, generics.GenericAPIView[Exemption]):
    """End an exemption now: what it covered counts again (governance.exemptions.end_exemption)."""

    serializer_class = ExemptionSerializer

    @extend_schema(request=None, responses=ExemptionSerializer)
    def post(self, request: Request, pk: int) -> Response:
        exemption = self.get_object()
        exemptions.end_exemption(exemption, user=person(request), ip=client_ip(request))
        return Response(ExemptionSerializer(exemption).data)


# --- governance rules -------------------------------------------------------------------------------


class GovernanceRuleSerializer(serializers.ModelSerializer[GovernanceRule]):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    severities = serializers.ListField(
        child=serializers.ChoiceField(choices=Severity.choices), required=False
    )
    recommendation_keys = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    subscription_names = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    kinds = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    timeframe_days = serializers.ChoiceField(choices=Timeframe.choices, required=False)

    class Meta:
        model = GovernanceRule
        fields = (
            "id",
            "name",
            "priority",
            "active",
            "severities",
            "recommendation_keys",
            "subscription_names",
            "resource_group",
            "tag_key",
            "tag_value",
            "os",
            "kinds",
            "team",
            "owner_email",
            "owner_tag",
            "timeframe_days",
            "grace_period",
            "created_at",
        )
        read_only_fields = ("id", "created_at")
        # The service checks a priority is free and a name unique, with its own messages.
        validators: list[Any] = []
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}, "priority": {"validators": []}}


SPEC_FIELDS = tuple(f.name for f in dataclass_fields(rules.RuleSpec))


def rule_spec(values: dict[str, Any], rule: GovernanceRule | None = None) -> rules.RuleSpec:
    """The rule's spec with `values` over it (all of a new rule's come from `values`)."""
    current = rules.snapshot(rule) if rule is not None else {}
    if rule is not None:
        current["team"] = rule.team
    current.update({name: value for name, value in values.items() if name in SPEC_FIELDS})
    return rules.RuleSpec(**{name: current[name] for name in SPEC_FIELDS if name in current})


class GovernanceRuleList(generics.ListAPIView[GovernanceRule]):
    """Governance rules by priority; POST creates one (governance.rules.save_rule: validated, audited,
    then applied to unassigned items)."""

    serializer_class = GovernanceRuleSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    ordering_fields = ("id", "priority", "name")
    ordering = ("priority",)
    queryset = GovernanceRule.objects.select_related("team")

    @extend_schema(request=GovernanceRuleSerializer, responses={201: GovernanceRuleSerializer})
    def post(self, request: Request) -> Response:
        data = GovernanceRuleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            rule, _ = rules.save_rule(user=person(request), spec=rule_spec(values), ip=client_ip(request))
            if values.get("active") is False:
                rules.set_rule_active(user=person(request), rule=rule, active=False, ip=client_ip(request))
        except UserError as error:
            return refusal(error)
        return Response(GovernanceRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class GovernanceRuleDetail(generics.RetrieveAPIView[GovernanceRule]):
    """One rule; PATCH changes what it selects or who gets it, or (de)activates it (`active`)."""

    serializer_class = GovernanceRuleSerializer
    queryset = GovernanceRule.objects.select_related("team")

    @extend_schema(request=GovernanceRuleSerializer, responses=GovernanceRuleSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        rule = self.get_object()
        data = GovernanceRuleSerializer(rule, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            if any(name in SPEC_FIELDS for name in values):
                rule, _ = rules.save_rule(
                    user=person(request), spec=rule_spec(values, rule), rule=rule, ip=client_ip(request)
                )
            if "active" in values:
                rules.set_rule_active(
                    user=person(request), rule=rule, active=values["active"], ip=client_ip(request)
                )
        except UserError as error:
            return refusal(error)
        rule.refresh_from_db()
        return Response(GovernanceRuleSerializer(rule).data)
