"""Users, their roles and their teams: the one way to change them (page, admin and commands), audited."""

from django.contrib.auth.models import User
from django.db import transaction

from audit import trail
from governance.models import Membership, Team
from governance.roles import TOWER_ROLES, Role, role_of, set_role
from posture.errors import UserError


def create_team(*, actor: User | None, name: str) -> tuple[Team, bool]:
    name = name.strip()
    if not name:
        raise UserError("a team needs a name")
    team, created = Team.objects.get_or_create(name=name)
    if created:
        trail.record(
            actor=actor,
            actor_name="" if actor else "manage.py",
            action=trail.TEAM,
            obj=team,
            summary=f"team {team} created",
        )
    return team, created


@transaction.atomic
def set_membership(*, actor: User | None, user: User, team: Team | None) -> None:
    """A tower lead or member belongs to exactly `team`; other roles to none (they see every team)."""
    role = role_of(user)
    if role in TOWER_ROLES and team is None:
        raise UserError(f"a {role.label.lower()} belongs to a team: choose one")
    if role not in TOWER_ROLES and team is not None:
        raise UserError("only tower leads and members belong to a team; the other roles see every team")
    before = sorted(Membership.objects.filter(user=user).values_list("team__name", flat=True))
    Membership.objects.filter(user=user).exclude(team=team).delete()
    if team is not None:
        Membership.objects.update_or_create(team=team, user=user, defaults={"is_lead": role == Role.LEAD})
    after = [team.name] if team is not None else []
    if before != after:
        trail.record(
            actor=actor,
            actor_name="" if actor else "manage.py",
            action=trail.TEAM,
            obj=user,
            summary=f"{user.get_username()}: team {', '.join(after) or 'none'}",
            before={"teams": before},
            after={"teams": after},
        )


@transaction.atomic
def save_person(
    *,
    actor: User | None,
    username: str,
    role: Role,
    team: Team | None = None,
    email: str | None = None,
    password: str | None = None,
) -> tuple[User, bool]:
    """Create or update a user with a role and (for tower roles) a team."""
    username = username.strip()
    if not username:
        raise UserError("a user needs a username")
    if role in TOWER_ROLES and team is None:
        raise UserError(f"a {role.label.lower()} belongs to a team: choose one")
    if role not in TOWER_ROLES and team is not None:
        raise UserError("only tower leads and members belong to a team; the other roles see every team")
    user, created = User.objects.get_or_create(username=username)
    if email is not None:
        user.email = email.strip()
    if password is not None:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.save()
    set_role(user, role, actor=actor)
    set_membership(actor=actor, user=user, team=team)
    return user, created
