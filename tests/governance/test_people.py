"""Teams and users: the admin page, the commands, and the audit of every role and team change."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from governance.models import Membership, Team
from governance.roles import Role, role_of
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_team_and_a_tower_lead_in_it(admin_client):
    response = admin_client.post("/people/teams/", {"name": "Linux"})
    assert response.status_code == 302
    team = Team.objects.get(name="Linux")
    response = admin_client.post(
        "/people/save/",
        {"username": "alice", "email": "alice@example.com", "role": "tower_lead", "team": team.pk},
    )
    assert response.status_code == 302
    alice = User.objects.get(username="alice")
    assert role_of(alice) == Role.LEAD
    assert Membership.objects.get(user=alice).team == team
    assert not alice.has_usable_password()
    page = admin_client.get("/people/").content.decode()
    assert "alice@example.com" in page
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", "summary"))
    assert actions[-3:] == [
        ("team_change", "team Linux created"),
        ("role_change", "alice is now Tower lead"),
        ("team_change", "alice: team Linux"),
    ]


def test_changing_a_leads_role_to_analyst_takes_the_team_away(admin_client):
    team = Team.objects.create(name="Linux")
    lead = make_user("lead", role=Role.LEAD, team=team)
    response = admin_client.post("/people/save/", {"username": "lead", "role": "security_analyst"})
    assert response.status_code == 302
    assert role_of(User.objects.get(pk=lead.pk)) == Role.ANALYST
    assert not Membership.objects.filter(user=lead).exists()
    event = AuditEvent.objects.filter(action="role_change").latest("pk")
    assert (event.before, event.after) == ({"role": "tower_lead"}, {"role": "security_analyst"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "bob", "role": "tower_member"}, "A tower member belongs to a team: choose one."),
        ({"username": "bob", "role": "boss"}, "Choose a role: admin, security_analyst"),
        ({"username": "", "role": "viewer"}, "A user needs a username."),
    ],
)
def test_bad_user_input_is_a_clear_400_and_saves_nothing(admin_client, data, message):
    response = admin_client.post("/people/save/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.filter(username="bob").exists()


def test_only_admins_manage_people(client):
    analyst = make_user("analyst", role=Role.ANALYST)
    client.force_login(analyst)
    assert client.get("/people/").status_code == 403
    assert client.post("/people/teams/", {"name": "X"}).status_code == 403
    assert not Team.objects.exists()


def test_the_commands_set_up_a_tower(monkeypatch):
    out = StringIO()
    call_command("add_team", "Windows", stdout=out)
    call_command("add_team", "Windows", stdout=out)
    monkeypatch.setattr("sys.stdin", StringIO("correct horse battery staple\n"))
    call_command(
        "add_user", "wendy", "--role", "tower_member", "--team", "Windows", "--password-stdin", stdout=out
    )
    assert out.getvalue().splitlines() == [
        "team Windows created",
        "team Windows already exists",
        "user wendy created: Tower member in Windows",
    ]
    wendy = User.objects.get(username="wendy")
    assert wendy.check_password("correct horse battery staple")
    assert Membership.objects.get(user=wendy).is_lead is False
    with pytest.raises(CommandError, match="a tower lead belongs to a team: choose one"):
        call_command("add_user", "x", "--role", "tower_lead", stdout=out)
    with pytest.raises(CommandError, match="no team 'Nope'"):
        call_command("add_user", "x", "--role", "tower_lead", "--team", "Nope", stdout=out)
    monkeypatch.setattr("sys.stdin", StringIO("123\n"))
    with pytest.raises(CommandError, match="too short"):
        call_command("add_user", "y", "--role", "viewer", "--password-stdin", stdout=out)


def test_a_role_changed_in_the_admin_site_is_audited(admin_client):
    bob = make_user("bob", role=Role.VIEWER)
    analysts = Group.objects.get(name="Security analyst")
    page = admin_client.get(f"/admin/auth/user/{bob.pk}/change/")
    assert page.status_code == 200
    response = admin_client.post(
        f"/admin/auth/user/{bob.pk}/change/",
        {
            "username": "bob",
            "is_active": "on",
            "groups": [analysts.pk],
            "date_joined_0": "2026-11-29",
            "date_joined_1": "08:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.filter(action="role_change").latest("pk")
    assert (event.before, event.after) == ({"role": "viewer"}, {"role": "security_analyst"})
    assert event.summary == "bob is now Security analyst (admin site)"
