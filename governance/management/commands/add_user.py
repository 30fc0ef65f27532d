"""`manage.py add_user USERNAME --role ROLE [--team NAME] [--email E] [--password-stdin]`."""

import sys
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.models import Team
from governance.people import save_person
from governance.roles import Role
from posture.errors import UserError


class Command(BaseCommand):
    help = "Create or update a user with a role; tower leads and members belong to a team."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--team", help="the tower of a tower_lead or tower_member")
        parser.add_argument("--email")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input (one line)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        role = Role(options["role"])
        team = None
        if options["team"]:
            team = Team.objects.filter(name=options["team"]).first()
            if team is None:
                raise CommandError(f"no team {options['team']!r} (manage.py add_team first)")
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            try:
                validate_password(password, User(username=options["username"]))
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        try:
            user, created = save_person(
                actor=None,
                username=options["username"],
                role=role,
                team=team,
                email=options["email"],
                password=password,
            )
        except UserError as error:
            raise CommandError(error.message) from None
        where = f" in {team.name}" if team else ""
        self.stdout.write(f"user {user.username} {'created' if created else 'updated'}: {role.label}{where}")
