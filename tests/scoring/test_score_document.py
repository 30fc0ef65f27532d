"""`manage.py score --json` and GET /api/v1/score/ after importing the fixtures, checked by hand."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from intake.pipeline import ingest_file

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RSC = "Remediate security configurations"


@pytest.fixture
def estate(fixture_time):
    for path in (FIXTURES / "inventory" / "estate.csv", FIXTURES / "defender" / "arg-assessments.json"):
        assert ingest_file(path).status == "imported"


def score_json(*args: str) -> dict:
    out = StringIO()
    call_command("score", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_fixture_estate_scores_as_defenders_formula_gives_by_hand(estate):
    document = score_json()
    # Remediate security configurations (agent statuses from the inventory's agent columns, at the
    # inventory's time, ws-prod registered; the rest from the export):
    #   web-01  agent installed and reporting, configuration Unhealthy            -> unhealthy
    #   web-02  agent not installed (health: not applicable), configuration NA    -> unhealthy
    #   db-01   agent installed and reporting, configuration Healthy              -> healthy
    #   api     instance api_1 pending: scale-set agent Unhealthy                 -> unhealthy
    #   aks-prod  only preview recommendations                                    -> not applicable
    #   dc-lon-07 agent installation failed: health Unhealthy (the export's
    #             OffByPolicy is for the Linux Arc recommendation)                -> unhealthy
    #   lab-01 (Lab) no agent: only the preview Linux Arc recommendation         -> not applicable
    # current = round(4 x 1 / 5, 2) = 0.80, percentage 0.2.
    control = next(c for c in document["controls"] if c["name"] == RSC)
    assert {
        k: control[k] for k in ("max", "current", "percentage", "healthy", "unhealthy", "not_applicable")
    } == {
        "max": 4,
        "current": 0.8,
        "percentage": 0.2,
        "healthy": 1,
        "unhealthy": 4,
        "not_applicable": 2,
    }
    recs = {r["key"]: r for r in control["recommendations"]}
    # A fix that turns exactly one resource healthy: round(4 x 2 / 5, 2) - 0.80 = 0.80; api stays
    # unhealthy by its agent after a configuration fix.
    assert recs["vm-agent-installed"]["potential_increase"] == 0.8
    assert recs["machine-config-vulns"]["potential_increase"] == 0.8
    assert recs["agent-health-resolved"]["potential_increase"] == 0.8
    assert recs["vmss-config-vulns"]["potential_increase"] == 0
    assert recs["vmss-agent-installed"]["potential_increase"] == 0
    assert recs["vm-agent-installed"] | {} == {
        "key": "vm-agent-installed",
        "assessment_key": "d1db3318-01ff-16de-29eb-28b344515626",
        "name": "Log Analytics agent should be installed on your virtual machines",
        "preview": False,
        "healthy": 2,
        "unhealthy": 1,
        "not_applicable": 0,
        "potential_increase": 0.8,
    }
    assert recs["k8s-policy-addon"]["preview"] is True
    assert recs["k8s-policy-addon"]["unhealthy"] == 1
    assert recs["k8s-policy-addon"]["potential_increase"] == 0
    # Whole estate: the points add up (0.80 + 0 for Lab); the percentage is the several-subscriptions
    # formula: Production's total 5 x 0.80 / 4 = 1.00 with weight 5, Lab 0 with weight 0 counted as 1:
    # 1.00 / 6 = 16.67 %.
    assert document["scope"] == {"subscription": None}
    assert document["secure_score"] == {"current": 0.8, "max": 4, "percentage": 0.1667}
    assert len(document["controls"]) == 15
    assert {c["name"]: c["max"] for c in document["controls"]}["Enable MFA"] == 0


def test_one_subscription_by_name_or_by_id(estate):
    by_name = score_json("--subscription", "Production")
    assert by_name["scope"] == {"subscription": "Production"}
    assert by_name["secure_score"] == {"current": 0.8, "max": 4, "percentage": 0.2}
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
    assert out.getvalue().splitlines()[0] == "Secure score (all subscriptions): 0.80 / 4 points (16.67 %)"


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
