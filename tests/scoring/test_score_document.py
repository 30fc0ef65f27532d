"""`manage.py score --json` and GET /api/v1/score/ after importing the fixtures, checked by hand."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from posture.ingest import ingest_file

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RSC = "Remediate security configurations"


@pytest.fixture
def estate():
    for path in (FIXTURES / "inventory" / "estate.csv", FIXTURES / "defender" / "arg-assessments.json"):
        assert ingest_file(path).status == "imported"


def score_json(*args: str) -> dict:
    out = StringIO()
    call_command("score", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_fixture_estate_scores_as_defenders_formula_gives_by_hand(estate):
    document = score_json()
    # Remediate security configurations in Production:
    #   web-01  agent Healthy, configuration Unhealthy          -> unhealthy
    #   web-02  agent Unhealthy, configuration NotApplicable    -> unhealthy
    #   db-01   agent Healthy, configuration Healthy            -> healthy
    #   api     scale-set agent Healthy, configuration Unhealthy -> unhealthy
    #   aks-prod  only a preview recommendation                 -> not applicable
    #   dc-lon-07 NotApplicable (OffByPolicy)                   -> not applicable
    #   lab-01  only in the inventory: no scan data             -> not applicable
    # current = round(4 x 1 / 4, 2) = 1.00, percentage 0.25.
    control = next(c for c in document["controls"] if c["name"] == RSC)
    assert {
        k: control[k] for k in ("max", "current", "percentage", "healthy", "unhealthy", "not_applicable")
    } == {
        "max": 4,
        "current": 1,
        "percentage": 0.25,
        "healthy": 1,
        "unhealthy": 3,
        "not_applicable": 3,
    }
    recs = {r["key"]: r for r in control["recommendations"]}
    # Each single fix turns exactly one resource healthy: round(4 x 2 / 4) - 1 = 1.
    assert recs["vm-agent-installed"]["potential_increase"] == 1
    assert recs["machine-config-vulns"]["potential_increase"] == 1
    assert recs["vmss-config-vulns"]["potential_increase"] == 1
    assert recs["vm-agent-installed"] | {} == {
        "key": "vm-agent-installed",
        "assessment_key": "d1db3318-01ff-16de-29eb-28b344515626",
        "name": "Log Analytics agent should be installed on your virtual machines",
        "preview": False,
        "healthy": 2,
        "unhealthy": 1,
        "not_applicable": 0,
        "potential_increase": 1,
    }
    assert recs["k8s-policy-addon"]["preview"] is True
    assert recs["k8s-policy-addon"]["unhealthy"] == 1
    assert recs["k8s-policy-addon"]["potential_increase"] == 0
    # Whole estate: Production total round(4 x 1 / 4, 2) = 1.00 with weight 4; Lab has no counted
    # resource (weight 0 counts as 1): 1.00 / 5 = 20 %.
    assert document["scope"] == {"subscription": None}
    assert document["secure_score"] == {"current": 1, "max": 4, "percentage": 0.2}
    assert len(document["controls"]) == 15
    assert {c["name"]: c["max"] for c in document["controls"]}["Enable MFA"] == 0


def test_one_subscription_by_name_or_by_id(estate):
    by_name = score_json("--subscription", "Production")
    assert by_name["scope"] == {"subscription": "Production"}
    assert by_name["secure_score"] == {"current": 1, "max": 4, "percentage": 0.25}
    lab = score_json("--subscription", "Lab")
    assert lab["secure_score"] == {"current": 0, "max": 0, "percentage": 0}


def test_subscription_is_found_by_its_cloud_id():
    ingest_file(FIXTURES / "defender" / "arg-assessments.json")
    by_id = score_json("--subscription", "3F2A9C1E-0000-4000-8000-00000000A001")
    assert by_id["scope"]["subscription"] == "3f2a9c1e-0000-4000-8000-00000000a001"
    assert by_id["secure_score"]["current"] == 1


def test_unknown_subscription_is_a_clear_error(estate):
    with pytest.raises(CommandError, match="no subscription named or with id 'Nope'"):
        score_json("--subscription", "Nope")


def test_text_output_names_the_score(estate):
    out = StringIO()
    call_command("score", stdout=out)
    assert out.getvalue().splitlines()[0] == "Secure score (all subscriptions): 1.00 / 4 points (20.00 %)"


def test_api_returns_the_same_document(estate, admin_client):
    assert admin_client.get("/api/v1/score/").json() == score_json()
    scoped = admin_client.get("/api/v1/score/", {"subscription": "Production"})
    assert scoped.json() == score_json("--subscription", "Production")
    missing = admin_client.get("/api/v1/score/", {"subscription": "Nope"})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no subscription named or with id 'Nope'"}


def test_api_requires_a_login(client, estate):
    response = client.get("/api/v1/score/")
    assert response.status_code in (401, 403, 302)
    assert b"secure_score" not in response.content


def test_a_nul_in_the_subscription_is_an_unknown_subscription_not_a_crash(admin_client):
    response = admin_client.get("/api/v1/score/", {"subscription": "prod\x00"})
    assert response.status_code == 404
    with pytest.raises(CommandError, match="no subscription named or with id"):
        score_json("--subscription", "a\x00b")
