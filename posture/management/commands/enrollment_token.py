"""`manage.py enrollment_token WORKSPACE_ID` prints a new agent token once; `--revoke PREFIX` revokes one."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from posture.agents import issue_token, revoke_token
from posture.models import EnrollmentToken, Workspace


class Command(BaseCommand):
    help = "Issue an enrollment token for a workspace (shown once), list them, or revoke one by its prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace_id")
        parser.add_argument("--revoke", metavar="PREFIX", help="revoke the token starting with PREFIX")
        parser.add_argument("--list", action="store_true", help="list the workspace's tokens")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(workspace_id=options["workspace_id"]).first()
        if workspace is None:
            raise CommandError(f"no workspace {options['workspace_id']!r}; create it with add_workspace")
        if options["list"]:
            for record in workspace.tokens.all():
                state = f"revoked {record.revoked_at:%Y-%m-%d}" if record.revoked_at else "active"
                used = (
                    f"last used {record.last_used_at:%Y-%m-%d %H:%M}" if record.last_used_at else "never used"
                )
                self.stdout.write(f"{record.prefix}…  {state}, {used}")
            return
        if options["revoke"]:
            matches = list(
                EnrollmentToken.objects.filter(workspace=workspace, prefix__startswith=options["revoke"])
            )
            if len(matches) != 1:
                raise CommandError(
                    f"{len(matches)} tokens start with {options['revoke']!r}; give a longer prefix"
                )
            revoke_token(matches[0])
            self.stdout.write(f"revoked {matches[0].prefix}…")
            return
        issued = issue_token(workspace=workspace)
        self.stdout.write(issued.token)
