"""`manage.py add_team NAME`: a tower (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.people import create_team
from posture.errors import UserError


class Command(BaseCommand):
    help = "Create a team (tower); leads and members join it with add_user --team."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            team, created = create_team(actor=None, name=options["name"])
        except UserError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"team {team.name} {'created' if created else 'already exists'}")
