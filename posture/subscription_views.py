"""The subscriptions page: each subscription's machines and agents, and its auto-provisioning setting."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from posture.errors import UserError
from posture.models import MACHINE_KINDS, AgentState, Subscription, Workspace
from posture.provisioning import set_auto_provisioning
from posture.views import render_page, render_user_error, scoped
from scoring.engine import Scope


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
