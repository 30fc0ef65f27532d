"""The agent install commands page: reached from a resource page or a recommendation's Quick fix."""

from typing import Any, cast

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from posture.errors import UserError
from posture.install_commands import default_workspace, install_commands, server_url
from posture.models import Resource, Workspace
from posture.scope import Scope
from recommendations.models import Recommendation
from web.pages.rendering import render_page, scoped


class BadSelection(UserError):
    pass


def _selection(request: HttpRequest) -> list[Resource]:
    raw = request.POST.getlist("resource")
    if not raw:
        raise BadSelection("select at least one machine")
    if not all(value.isdigit() for value in raw):
        raise BadSelection("the selection names resources that do not exist")
    resources = list(
        Resource.objects.filter(pk__in=[int(value) for value in raw]).select_related(
            "subscription__provisioning_workspace"
        )
    )
    if len(resources) != len(set(raw)):
        raise BadSelection("the selection names resources that do not exist")
    return resources


def _workspace(request: HttpRequest, resources: list[Resource]) -> Workspace:
    chosen = request.POST.get("workspace", "")
    if chosen:
        workspace = Workspace.objects.filter(workspace_id=chosen).first()
        if workspace is None:
            raise BadSelection(f"no workspace {chosen!r} is registered")
        return workspace
    found = default_workspace(resources)
    if found is None:
        raise BadSelection(
            "choose the workspace to enroll the machines in"
            if Workspace.objects.exists()
            else "no workspace is registered yet: register one first (manage.py add_workspace, or the admin)"
        )
    return found


@require_POST
@scoped
def agent_install_commands(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Issue a token and show, once, the commands that install the agent on the selected machines."""
    recommendation = Recommendation.objects.filter(key=request.POST.get("recommendation", "")).first()
    try:
        resources = _selection(request)
        workspace = _workspace(request, resources)
        commands = install_commands(
            resources=resources,
            workspace=workspace,
            user=cast(User, request.user),
            url=server_url(request),
            purpose=f"Quick fix of {recommendation.key}" if recommendation else "Install command",
        )
    except UserError as error:
        problem = {"title": "Cannot show install commands", "message": error.message}
        return render_page(request, "posture/user_error.html", problem, scope, 400)
    context: dict[str, Any] = {"nav": "resources", "commands": commands, "recommendation": recommendation}
    response = render_page(request, "posture/install_commands.html", context, scope)
    # The page holds a live token: never cached, by the browser or anything between.
    response["Cache-Control"] = "no-store"
    return response
