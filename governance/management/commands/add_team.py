"""`manage.py add_team NAME`: a tower (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from governance import audit
from governance.models import Team


class Command(BaseCommand):
    help = "Create a team (tower); leads and members join it with add_user --team."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        team, created = Team.objects.get_or_create(name=options["name"].strip())
        if created:
            audit.record(
                actor=None,
                actor_name="manage.py",
                action=audit.TEAM,
                obj=team,
                summary=f"team {team} created",
            )
        self.stdout.write(f"team {team.name} {'created' if created else 'already exists'}")
