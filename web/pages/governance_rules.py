"""The governance rules page: rules by priority, a form to create or edit one, and deactivation.

One route (GET lists, with `?edit=<id>` filling the form; POST saves, deactivates or activates);
the work is governance/rules.py's.
"""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from audit import trail
from governance.models import GovernanceRule, Team, Timeframe
from governance.rules import RuleSpec, save_rule, set_rule_active, snapshot
from posture.errors import UserError
from posture.models import OperatingSystem, ResourceKind, Subscription
from posture.scope import Scope
from recommendations.models import Severity
from web.pages.rendering import render_page, scoped


def _words(raw: str) -> list[str]:
    """Recommendation keys typed as a list: separated by commas, spaces or new lines."""
    return [word for word in raw.replace(",", " ").split() if word]


def _spec(data: QueryDict) -> RuleSpec:
    raw_priority = data.get("priority", "").strip()
    if not raw_priority.isdigit():
        raise UserError(f"the priority is a whole number from 0 (lower runs first), not {raw_priority!r}")
    raw_team = data.get("team", "")
    team = None
    if raw_team:
        team = Team.objects.filter(pk=int(raw_team)).first() if raw_team.isdigit() else None
        if team is None:
            raise UserError("no such team")
    raw_timeframe = data.get("timeframe_days", "")
    if not raw_timeframe.isdigit():
        raise UserError(f"the timeframe is one of {', '.join(str(v) for v in Timeframe.values)} days")
    return RuleSpec(
        name=data.get("name", ""),
        priority=int(raw_priority),
        team=team,
        owner_email=data.get("owner_email", ""),
        owner_tag=data.get("owner_tag", ""),
        timeframe_days=int(raw_timeframe),
        grace_period=data.get("grace_period") == "on",
        severities=data.getlist("severities"),
        recommendation_keys=_words(data.get("recommendation_keys", "")),
        subscription_names=data.getlist("subscription_names"),
        resource_group=data.get("resource_group", ""),
        tag_key=data.get("tag_key", ""),
        tag_value=data.get("tag_value", ""),
        os=data.get("os", ""),
        kinds=data.getlist("kinds"),
    )


def _form_of(rule: GovernanceRule | None) -> dict[str, Any]:
    """What the form shows: the rule's values for an edit, the defaults for a new one."""
    if rule is None:
        return {"timeframe_days": Timeframe.MONTH, "severities": [], "kinds": [], "subscription_names": []}
    values = snapshot(rule)
    values["team"] = rule.team_id
    values["recommendation_keys"] = " ".join(rule.recommendation_keys)
    return values


def _posted_form(data: QueryDict) -> dict[str, Any]:
    values: dict[str, Any] = {name: data.get(name, "") for name in data}
    for name in ("severities", "kinds", "subscription_names"):
        values[name] = data.getlist(name)
    values["grace_period"] = data.get("grace_period") == "on"
    team, timeframe = data.get("team", ""), data.get("timeframe_days", "")
    values["team"] = int(team) if team.isdigit() else None
    values["timeframe_days"] = int(timeframe) if timeframe.isdigit() else ""
    return values


def _post(request: HttpRequest, rule: GovernanceRule | None) -> str:
    """Carry out the POST; returns the message to show."""
    action = request.POST.get("action", "save")
    ip = trail.client_ip(request)
    if action in ("deactivate", "activate"):
        if rule is None:
            raise UserError("choose the rule to deactivate")
        _, assigned = set_rule_active(user=request.user, rule=rule, active=action == "activate", ip=ip)
        return f"Rule {rule.name} {action}d; {assigned} items assigned."
    if action != "save":
        raise UserError(f"unknown action {action!r}")
    saved, assigned = save_rule(user=request.user, spec=_spec(request.POST), rule=rule, ip=ip)
    return f"Rule {saved.name} saved; {assigned} unassigned items assigned by the rules."


@require_http_methods(["GET", "HEAD", "POST"])
@scoped
def governance_rules(request: HttpRequest, scope: Scope) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    raw_rule = source.get("rule" if request.method == "POST" else "edit", "")
    rule = get_object_or_404(GovernanceRule, pk=int(raw_rule)) if raw_rule.isdigit() else None
    error = None
    form = _form_of(rule)
    if request.method == "POST":
        try:
            message = _post(request, rule)
        except UserError as problem:
            error = problem.message
            form = _posted_form(request.POST)
        else:
            messages.success(request, message)
            return HttpResponseRedirect(reverse("governance-rules"))
    context = {
        "nav": "governance-report",
        "rules": GovernanceRule.objects.select_related("team").order_by("priority", "name"),
        "editing": rule,
        "form": form,
        "error": error,
        "teams": Team.objects.order_by("name"),
        "timeframes": Timeframe.choices,
        "severities": Severity.choices,
        "kinds": ResourceKind.choices,
        "systems": [(value, label) for value, label in OperatingSystem.choices if value],
        "subscriptions": Subscription.objects.order_by("name").values_list("name", flat=True),
    }
    return render_page(request, "governance/rule_list.html", context, scope, status=400 if error else 200)
