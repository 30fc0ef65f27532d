"""Defender's reported score beside Posture's: `score --json`'s `reported`, the flag, and the rows that
explain "Remediate security configurations". The reported figures are Microsoft's published example
(tests/fixtures/defender-score/rest-securescorecontrols.json and rest-securescores.json: GENUINE,
provenance in tests/posture/test_defender_scores.py); Posture's side is built here."""

import json
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from governance.models import Assignment, Team
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from intake.pipeline import ingest_file
from posture.models import Resource
from posture.scope import ESTATE, Scope, scope_for
from recommendations.models import Assessment, AssessmentStatus
from scoring.engine import compute_score
from scoring.models import Control
from scoring.reported import reconcile
from tests.factories import make_assessment, make_resource, make_subscription, make_user

pytestmark = pytest.mark.django_db

SCORES = Path(__file__).resolve().parent.parent / "fixtures" / "defender-score"
SUB = "20ff7fc3-e762-44dd-bd96-b71116dcdc23"
RSC = "Remediate security configurations"


@pytest.fixture
def contoso():
    subscription = make_subscription("Contoso", external_id=SUB)
    # Defender's example counts one machine unhealthy in the control: so does Posture.
    web = make_resource(subscription, name="web-01")
    make_assessment(web, "machine-config-vulns", AssessmentStatus.UNHEALTHY)
    for name in ("rest-securescores.json", "rest-securescorecontrols.json"):
        assert ingest_file(SCORES / name).status == "imported"
    return subscription


def score_json(*args: str) -> dict:
    out = StringIO()
    call_command("score", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def control(document: dict, name: str) -> dict:
    return next(c for c in document["reported"]["controls"] if c["name"] == name)


def test_score_json_shows_defenders_reported_score_beside_posture(contoso):
    document = score_json("--subscription", "Contoso")
    reported = document["reported"]
    assert (reported["current"], reported["max"], reported["percentage"]) == (23.53, 39, 0.6033)
    assert document["secure_score"] == {"current": 0, "max": 4, "percentage": 0}
    assert reported["differs"] is True  # Posture knows one control; Defender scores eleven more
    remediate = control(document, RSC)
    assert [remediate[key] for key in ("current", "max", "healthy", "unhealthy")] == [0, 4, 0, 1]
    assert remediate["posture"] == {"current": 0, "max": 4, "healthy": 0, "unhealthy": 1}
    assert remediate["differs"] is False
    mfa = control(document, "Enable MFA")
    assert (mfa["current"], mfa["posture"]["current"], mfa["differs"]) == (10, 0, True)
    explanation = reported["explanation"]
    assert explanation["healthy"] == {"posture": 0, "defender": 0}
    assert explanation["unhealthy"] == {"posture": 1, "defender": 1}
    assert [(r["name"], r["state"], r["may_differ"]) for r in explanation["resources"]] == [
        ("web-01", "unhealthy", False)
    ]


def test_a_difference_is_flagged_with_the_resources_that_explain_it(contoso):
    db = make_resource(contoso, name="db-01")
    assessment = make_assessment(db, "machine-config-vulns", AssessmentStatus.HEALTHY)
    Assessment.objects.filter(pk=assessment.pk).update(source="os_config_scan")
    document = score_json("--subscription", "Contoso")
    remediate = control(document, RSC)
    assert remediate["posture"] == {"current": 2, "max": 4, "healthy": 1, "unhealthy": 1}
    assert remediate["differs"] is True
    explanation = document["reported"]["explanation"]
    assert explanation["healthy"] == {"posture": 1, "defender": 0}
    first = explanation["resources"][0]
    assert (first["name"], first["state"], first["may_differ"]) == ("db-01", "healthy", True)
    assert "Posture's own evidence (os_config_scan)" in first["note"]


def test_within_rounding_is_not_flagged(contoso):
    scope = scope_for("Contoso")
    result = reconcile(scope, compute_score(scope))
    assert result is not None
    remediate = next(c for c in result.controls if c.name == RSC)
    assert not remediate.differs
    assert not replace(remediate, current=remediate.reported_current + Decimal("0.01")).differs
    assert replace(remediate, current=remediate.reported_current + Decimal("0.02")).differs


def test_reported_figures_are_shown_only_for_one_whole_subscription(contoso):
    # Whole-subscription figures: not across subscriptions, and not to a tower's members, whose scope
    # hides machines (Defender's counts would disclose other towers').
    assert reconcile(ESTATE, compute_score(ESTATE)) is None
    tower = Scope(subscription_ids=(contoso.pk,), resources=Resource.objects.filter(name="web-01"))
    assert reconcile(tower, compute_score(tower)) is None
    assert "reported" not in score_json()
    other = make_subscription("Fabrikam")
    assert "reported" not in score_json("--subscription", other.name)


def test_the_dashboard_shows_both_scores_and_the_explaining_rows(contoso, client):
    client.force_login(make_user())
    response = client.get(reverse("dashboard"), {"subscription": "Contoso"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Defender reported <strong>23.53</strong> / 39 points (60.33%)" in html
    assert "differs from Posture's" in html
    assert "Defender counts 0 healthy and 1 unhealthy resources; Posture counts 0 healthy" in html
    assert "web-01" in html
    control = Control.objects.get(name=RSC)
    response = client.get(reverse("control", args=[control.pk]), {"subscription": "Contoso"})
    assert response.status_code == 200
    detail = response.content.decode()
    assert "Defender reported</dt>" in detail
    assert "0.00 / 4</a>: 0 healthy, 1 unhealthy" in detail
    assert "badge overdue" not in detail  # this control agrees
    # The estate has no reported figure of its own.
    assert "Defender reported <strong>" not in client.get(reverse("dashboard")).content.decode()


def test_a_towers_members_see_no_reported_figures(contoso, client):
    tower = Team.objects.create(name="Web tower")
    web = Resource.objects.get(name="web-01")
    Assignment.objects.create(
        assessment=Assessment.objects.get(resource=web),
        team=tower,
        first_detected=timezone.now(),
        due_date=date(2026, 12, 31),
    )
    refresh_tower_summaries([web.pk])
    client.force_login(make_user("lead", role=Role.LEAD, team=tower))
    html = client.get(reverse("dashboard"), {"subscription": "Contoso"}).content.decode()
    assert "Defender reported" not in html
    assert "Defender's own score" not in html
    control = Control.objects.get(name=RSC)
    response = client.get(reverse("control", args=[control.pk]), {"subscription": "Contoso"})
    assert response.status_code == 200
    detail = response.content.decode()
    assert "Defender reported" not in detail
    api = client.get("/api/v1/score/", {"subscription": "Contoso"})
    assert api.status_code == 200
    assert "reported" not in api.json()
    estate = client.get("/api/v1/score/").json()
    assert [sub["name"] for sub in estate["subscriptions"]] == ["Contoso"]
    assert "reported" not in estate["subscriptions"][0]
    assert "23.53" not in client.get(reverse("dashboard")).content.decode()


def test_the_estate_lists_each_subscriptions_reported_score(contoso, client):
    other = make_subscription("Fabrikam")
    document = score_json()
    by_name = {sub["name"]: sub for sub in document["subscriptions"]}
    expected = {"current": 23.53, "max": 39, "percentage": 0.6033, "differs": True}
    assert by_name["Contoso"]["reported"] == expected
    assert "reported" not in by_name[other.name]
    client.force_login(make_user())
    html = client.get(reverse("dashboard")).content.decode()
    assert "Defender reported</th>" in html
    assert "23.53 / 39 (60.33%)" in html


def test_a_control_posture_does_not_know_is_named_so(contoso, client, tmp_path):
    # DERIVED: a genuine control record given a key and name the catalog lacks.
    document = json.loads((SCORES / "rest-securescorecontrols.json").read_text())
    record = document["value"][1]
    record["id"] = record["id"].replace(record["name"], "00000000-0000-0000-0000-00000000beef")
    record["name"] = "00000000-0000-0000-0000-00000000beef"
    record["properties"]["displayName"] = "A control of tomorrow"
    path = tmp_path / "unknown-control.json"
    path.write_text(json.dumps({"value": [record]}))
    result = ingest_file(path)
    client.force_login(make_user())
    assert result.counts["reported_controls_unknown"] == 1
    html = client.get(reverse("dashboard"), {"subscription": "Contoso"}).content.decode()
    row = re.search(r"<tr>\s*<th scope=\"row\">A control of tomorrow</th>.*?</tr>", html, re.S)
    assert row is not None
    assert "not in Posture's catalog" in row.group(0)
