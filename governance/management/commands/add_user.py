"""`manage.py add_user USERNAME --role ROLE [--team NAME] [--email E] [--password-stdin]`."""

import sys
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from governance import audit
from governance.models import Membership, Team
from governance.roles import TOWER_ROLES, Role, set_role


class Command(BaseCommand):
    help = "Create or update a user with a role; tower leads and members belong to a team."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--team", help="the tower of a tower_lead or tower_member")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input (one line)"
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        role = Role(options["role"])
        team = None
        if role in TOWER_ROLES:
            if not options["team"]:
                raise CommandError(f"a {role.label.lower()} belongs to a team: add --team NAME")
            team = Team.objects.filter(name=options["team"]).first()
            if team is None:
                raise CommandError(f"no team {options['team']!r} (manage.py add_team first)")
        elif options["team"]:
            raise CommandError(f"a {role.label.lower()} sees every team's items: --team is for tower roles")
        user, created = User.objects.get_or_create(username=options["username"])
        if options["email"]:
            user.email = options["email"]
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
        set_role(user, role)
        if team is not None:
            membership, joined = Membership.objects.get_or_create(team=team, user=user)
            if membership.is_lead != (role == Role.LEAD):
                membership.is_lead = role == Role.LEAD
                membership.save()
            if joined:
                audit.record(
                    actor=None,
                    actor_name="manage.py",
                    action=audit.TEAM,
                    obj=user,
                    summary=f"{user.username} joined {team.name}",
                    after={"team": team.name, "lead": membership.is_lead},
                )
        where = f" in {team.name}" if team else ""
        self.stdout.write(f"user {user.username} {'created' if created else 'updated'}: {role.label}{where}")
