"""Roles: who a user is to Posture. Each role is a Django group; a superuser is an admin.

- admin: everything, including users, teams and the admin site;
- security analyst: sees everything, assigns, exempts, writes governance rules, imports;
- tower lead: sees and acts on the tower's items, assigns within the tower;
- tower member: sees and updates the tower's items;
- viewer: reads everything, changes nothing.
A user without a role can log in and see nothing.
"""

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, Group, User
from django.db.models import QuerySet

from governance.models import Team


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "security_analyst"
    LEAD = "tower_lead"
    MEMBER = "tower_member"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return GROUPS[self]


GROUPS: dict[Role, str] = {
    Role.ADMIN: "Admin",
    Role.ANALYST: "Security analyst",
    Role.LEAD: "Tower lead",
    Role.MEMBER: "Tower member",
    Role.VIEWER: "Viewer",
}
# When a user is in several groups, the strongest role wins.
PRECEDENCE = (Role.ADMIN, Role.ANALYST, Role.LEAD, Role.MEMBER, Role.VIEWER)
TOWER_ROLES = frozenset({Role.LEAD, Role.MEMBER})


def ensure_groups() -> None:
    for name in GROUPS.values():
        Group.objects.get_or_create(name=name)


def role_of(user: User | AnonymousUser) -> Role | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    # Once per request: the role is asked for by the route check, the scope and the services.
    cached: dict[int, Role | None] = user.__dict__.setdefault("_posture_role", {})
    if user.pk not in cached:
        cached[user.pk] = strongest_role(set(user.groups.values_list("name", flat=True)))
    return cached[user.pk]


def listed_role(user: User) -> Role | None:
    """role_of a user of a list that prefetched its groups (no query per user)."""
    if not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return strongest_role({group.name for group in user.groups.all()})


def strongest_role(group_names: set[str]) -> Role | None:
    return next((r for r in PRECEDENCE if GROUPS[r] in group_names), None)


def teams_of(user: User | AnonymousUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user)


def set_role(user: User, role: Role, *, actor: User | None = None) -> None:
    """Make `role` the user's only role (one group), and record the change."""
    from audit import trail

    ensure_groups()
    before = role_of(user)
    user.groups.remove(*Group.objects.filter(name__in=GROUPS.values()))
    user.groups.add(Group.objects.get(name=GROUPS[role]))
    # Django's admin site needs these flags: an admin has them, no other role does.
    admin = role == Role.ADMIN
    if (user.is_staff, user.is_superuser) != (admin, admin):
        user.is_staff = user.is_superuser = admin
        user.save(update_fields=["is_staff", "is_superuser"])
    user.__dict__.pop("_posture_role", None)
    if before != role:
        trail.record(
            actor=actor,
            action=trail.ROLE,
            obj=user,
            summary=f"{user.get_username()} is now {role.label}",
            before={"role": before.value if before else None},
            after={"role": role.value},
        )
