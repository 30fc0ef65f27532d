"""API tokens: issued once by the command, `Authorization: Token <key>`, revoked by command or admin,
audited; sessions still work; an agent's enrollment token opens only the agents' routes."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from governance.api_tokens import issue_api_token, revoke_api_token
from governance.models import ApiToken
from governance.roles import Role
from posture.agents import issue_token
from posture.models import Workspace
from tests.api.conftest import token_client
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def create_token(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_the_command_prints_a_key_once_and_stores_only_its_digest(analyst: User) -> None:
    key, warning = create_token("ana", "--label", "grafana")
    token = ApiToken.objects.get()
    assert key.startswith("psa_")
    assert len(key) > 40
    assert "not stored" in warning
    assert (token.user, token.label, token.prefix) == (analyst, "grafana", key[:12])
    assert key not in token.digest
    assert token.revoked_at is None
    event = AuditEvent.objects.get(action="api_token")
    assert "issued to ana" in event.summary
    assert event.after == {
        "user": "ana",
        "prefix": key[:12],
        "label": "grafana",
    }


def test_a_token_authenticates_and_records_its_use(analyst: User) -> None:
    key, _ = create_token("ana")
    response = Client().get(reverse("api-score"), headers={"authorization": f"Token {key}"})
    assert response.status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_a_session_still_works(analyst: User) -> None:
    client = Client()
    client.force_login(analyst)
    assert client.get(reverse("api-resources")).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Token psa_not-a-real-key", "Token", "Token a b", "Token pst_an-agent-token-shape"],
)
def test_a_wrong_token_is_a_401_naming_the_scheme(analyst: User, header: str) -> None:
    response = Client().get(reverse("api-resources"), headers={"authorization": header})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Token realm="posture"'


def test_no_credentials_is_a_401(db: None) -> None:
    assert Client().get(reverse("api-resources")).status_code == 401


def test_the_command_revokes_by_prefix_and_the_key_stops_working_at_once(analyst: User) -> None:
    key, _ = create_token("ana")
    client = Client(headers={"authorization": f"Token {key}"})
    assert client.get(reverse("api-resources")).status_code == 200
    out, _ = create_token("--revoke", key[:10])
    assert "revoked" in out
    assert client.get(reverse("api-resources")).status_code == 401
    assert AuditEvent.objects.filter(action="api_token", summary__contains="revoked").count() == 1
    out, _ = create_token("--revoke", key[:10])
    assert "already revoked" in out


def test_the_command_lists_tokens_without_their_keys(analyst: User) -> None:
    key, _ = create_token("ana", "--label", "ci")
    out, _ = create_token("--list")
    assert key[:12] in out
    assert "ci" in out
    assert "active" in out
    assert key not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nobody",), "no user"),
        (("--revoke", "psa_"), "at least"),
        (("--revoke", "psa_zzzzzz"), "no token"),
        ((), "name"),
    ],
)
def test_the_command_says_what_is_wrong(analyst: User, args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        create_token(*args)


def test_an_inactive_users_token_stops_working(analyst: User) -> None:
    client = token_client(analyst)
    User.objects.filter(pk=analyst.pk).update(is_active=False)
    assert client.get(reverse("api-resources")).status_code == 401


def test_the_admin_revokes_tokens_and_the_audit_log_says_who(analyst: User) -> None:
    admin = make_user("root", role=Role.ADMIN)
    token = issue_api_token(user=analyst).record
    client = Client()
    client.force_login(admin)
    response = client.post(
        reverse("admin:governance_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.filter(action="api_token").order_by("-pk").first()
    assert event is not None
    assert event.actor == admin
    assert "revoked" in event.summary
    page = client.get(reverse("admin:governance_apitoken_change", args=[token.pk]))
    assert page.status_code == 200
    assert token.digest not in page.content.decode()


def test_revoking_twice_records_once(analyst: User) -> None:
    token = issue_api_token(user=analyst).record
    assert revoke_api_token(token) is True
    assert revoke_api_token(token) is False
    assert AuditEvent.objects.filter(action="api_token", summary__contains="revoked").count() == 1


def test_an_agent_enrollment_token_opens_only_the_agent_routes(analyst: User) -> None:
    agent_token = issue_token(workspace=Workspace.objects.create(name="Main", workspace_id="ws-main")).token
    agent = Client(headers={"authorization": f"Bearer {agent_token}"})
    for name in ("api-resources", "api-score", "api-assignments", "api-schema", "api-docs"):
        assert agent.get(reverse(name)).status_code == 401, name
    assert agent.get(reverse("api-imports")).status_code == 403  # agents upload there, never list
    assert agent.post(reverse("api-heartbeats"), {}, content_type="application/json").status_code == 400


def test_an_api_token_cannot_stand_in_for_an_agent_token(api: Client) -> None:
    response = api.post(reverse("api-heartbeats"), {}, content_type="application/json")
    assert response.status_code in (401, 403)
