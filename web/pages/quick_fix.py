"""The Quick fix downloads: a bash script or an Ansible playbook (Linux), a PowerShell script (Windows), for
the failed rules selected on a rule's page (one rule, many machines) or a machine's page (many rules, one
machine)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit import trail
from posture.errors import UserError
from posture.scope import Scope
from recommendations.quick_fix import (
    Selection,
    UnknownFinding,
    ansible_bundle,
    bash_bundle,
    check_platform,
    parse_ids,
    selected_findings,
)
from recommendations.quick_fix_windows import powershell_bundle
from web.pages.rendering import render_page, scoped


@dataclass(frozen=True)
class BundleKind:
    name: str
    build: Callable[..., str]
    content_type: str
    extension: str
    # The platform whose rules it fixes: "windows", or "" for the others (Linux).
    platform: str = ""


BASH = BundleKind("bash", bash_bundle, "text/x-shellscript; charset=utf-8", "sh")
ANSIBLE = BundleKind("Ansible", ansible_bundle, "application/x-yaml; charset=utf-8", "yml")
POWERSHELL = BundleKind("PowerShell", powershell_bundle, "text/plain; charset=utf-8", "ps1", "windows")


def _refusal(request: HttpRequest, scope: Scope, error: UserError) -> HttpResponse:
    status = 404 if isinstance(error, UnknownFinding) else 400
    problem = {"title": "Cannot build the quick fix", "message": error.message}
    return render_page(request, "posture/user_error.html", problem, scope, status)


def _audit(request: HttpRequest, kind: BundleKind, ids: list[int], selection: Selection) -> None:
    trail.record(
        actor=request.user,
        action=trail.EXPORT,
        summary=f"downloaded the {kind.name} quick fix for {selection.summary}",
        after={
            "format": kind.extension,
            "findings": ids,
            "rules": sorted(rule.key for rule in selection.rules.values()),
            "machines": sorted(machine.name for machine in selection.machines.values()),
        },
        ip=trail.client_ip(request),
    )


def _download(request: HttpRequest, scope: Scope, kind: BundleKind) -> HttpResponse:
    try:
        ids = parse_ids(request.POST.getlist("finding"))
        selection = selected_findings(ids, scope)
        check_platform(selection, kind.platform)
    except UserError as error:
        return _refusal(request, scope, error)
    generated: datetime = timezone.now()
    response = HttpResponse(kind.build(selection, generated=generated), content_type=kind.content_type)
    # A fixed name: nothing from the scan file reaches a header.
    name = f"posture-quick-fix-{generated:%Y%m%d-%H%M%S}.{kind.extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    _audit(request, kind, ids, selection)
    return response


@require_POST
@scoped
def quick_fix_bash(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _download(request, scope, BASH)


@require_POST
@scoped
def quick_fix_ansible(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _download(request, scope, ANSIBLE)


@require_POST
@scoped
def quick_fix_powershell(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _download(request, scope, POWERSHELL)
