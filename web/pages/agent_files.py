"""The agent's files, served to the machines that install it (no login: they hold no secret)."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

AGENT_DIR = Path(settings.BASE_DIR) / "agent"
# Only these, by name: never a path taken from the request.
FILES = {
    "install.sh": "text/x-shellscript",
    "install.ps1": "text/plain",
    "posture_agent.py": "text/x-python",
    "posture-agent.service": "text/plain",
    "posture-agent.timer": "text/plain",
}


@login_not_required
@require_safe
def agent_file(request: HttpRequest, name: str) -> FileResponse:
    content_type = FILES.get(name)
    if content_type is None:
        raise Http404("no such agent file")
    response = FileResponse(
        (AGENT_DIR / name).open("rb"), content_type=f"{content_type}; charset=utf-8", as_attachment=True
    )
    response["Cache-Control"] = "no-cache"
    return response
