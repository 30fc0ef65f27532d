"""The subscriptions page: each subscription's machines and agents, its auto-provisioning setting, and
the groups of subscriptions the scope selector offers."""

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from audit.trail import client_ip
from intake.agents import set_auto_provisioning
from posture.errors import UserError
from posture.models import MACHINE_KINDS, AgentState, Subscription, SubscriptionGroup, Workspace
from posture.scope import GROUP_PREFIX, Scope
from posture.subscription_groups import change_group, create_group, delete_group, subscriptions_by_pk
from web.access import ACCESS, allows
from web.pages.rendering import render_page, render_user_error, scoped


@dataclass(frozen=True)
class GroupRow:
    group: SubscriptionGroup
    value: str  # its `?subscription=` value
    members: list[Subscription]
    others: list[Subscription]  # the subscriptions it may take


def group_rows() -> list[GroupRow]:
    everything = list(Subscription.objects.order_by("name"))
    rows = []
    for group in SubscriptionGroup.objects.prefetch_related("subscriptions").order_by("name"):
        members = sorted(group.subscriptions.all(), key=lambda s: s.name)
        held = {s.pk for s in members}
        rows.append(
            GroupRow(group, GROUP_PREFIX + group.name, members, [s for s in everything if s.pk not in held])
        )
    return rows


@require_safe
@scoped
def subscription_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    machines = Q(resources__kind__in=MACHINE_KINDS)
    subscriptions = (
        Subscription.objects.select_related("provisioning_workspace")
        .annotate(
            machines=Count("resources", filter=machines),
            with_agent=Count("resources", filter=machines & Q(resources__agent_state=AgentState.INSTALLED)),
            pending=Count("resources", filter=machines & Q(resources__agent_state=AgentState.PENDING)),
        )
        .order_by("name")
    )
    if not scope.is_estate:
        subscriptions = subscriptions.filter(pk__in=scope.subscription_ids or ())
    context = {
        "nav": "subscriptions",
        "subscriptions": subscriptions,
        "workspaces": Workspace.objects.order_by("name"),
        "groups": group_rows(),
        "all_subscriptions": Subscription.objects.order_by("name"),
        "may_manage_groups": allows(ACCESS["subscription-group-create"], request.user),
    }
    return render_page(request, "posture/subscription_list.html", context, scope)


@require_POST
def auto_provisioning(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk)
    chosen = request.POST.get("workspace", "")
    workspace = None
    if chosen:
        workspace = Workspace.objects.filter(workspace_id=chosen).first()
        if workspace is None:
            return render_user_error(request, UserError(f"no workspace {chosen!r} is registered"), 400)
    changed = set_auto_provisioning(subscription, workspace)
    if workspace is None:
        messages.success(
            request, f"Auto-provisioning is off for {subscription.name}; {changed} pending machines reverted."
        )
    else:
        messages.success(
            request,
            f"Auto-provisioning is on for {subscription.name} (workspace {workspace.name}); "
            f"{changed} machines without an agent are pending installation.",
        )
    return HttpResponseRedirect(reverse("subscriptions"))


def back_to_groups() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("subscriptions") + "#groups")


@require_POST
def group_create(request: HttpRequest) -> HttpResponse:
    try:
        group = create_group(
            actor=request.user,
            name=request.POST.get("name", ""),
            subscriptions=subscriptions_by_pk(request.POST.getlist("subscription")),
            ip=client_ip(request),
        )
    except UserError as error:
        messages.error(request, error.message)
    else:
        held = group.subscriptions.count()
        messages.success(request, f"Group {group.name} created with {held} subscriptions.")
    return back_to_groups()


@require_POST
def group_change(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(SubscriptionGroup, pk=pk)
    try:
        held = change_group(
            actor=request.user,
            group=group,
            add=subscriptions_by_pk(request.POST.getlist("add")),
            remove=subscriptions_by_pk(request.POST.getlist("remove")),
            ip=client_ip(request),
        )
    except UserError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Group {group.name} holds {', '.join(held) or 'no subscriptions'}.")
    return back_to_groups()


@require_POST
def group_delete(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(SubscriptionGroup, pk=pk)
    delete_group(actor=request.user, group=group, ip=client_ip(request))
    messages.success(request, f"Group {group.name} deleted; its subscriptions stay.")
    return back_to_groups()
