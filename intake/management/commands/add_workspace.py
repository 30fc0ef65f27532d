"""`manage.py add_workspace NAME --workspace-id ID [--datastream PATH] [--profile ID]`: a collector."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from intake.agents import register_workspace


class Command(BaseCommand):
    help = "Register (or update) a workspace agents report to, and the SCAP profile its agents run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--workspace-id", required=True, help="the id agents and inventories use")
        parser.add_argument("--datastream", default="", help="SCAP data stream path on the machines")
        parser.add_argument("--profile", default="", help="XCCDF profile id to evaluate")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace, created = register_workspace(
            workspace_id=options["workspace_id"],
            name=options["name"],
            datastream=options["datastream"],
            profile=options["profile"],
        )
        self.stdout.write(
            f"workspace {workspace.workspace_id} ({workspace.name}) {'created' if created else 'updated'}"
        )
