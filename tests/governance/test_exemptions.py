"""Exemptions: score vector 11 through its whole life (exempted, verdict held, expired), and the pages."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from audit.models import AuditEvent
from config.celery import app as celery_app
from governance import exemptions
from governance.models import Exemption
from governance.roles import Role
from governance.tasks import lapse_exemptions
from posture.scope import ESTATE
from recommendations.evaluators.verdicts import OS_CONFIG, Verdict, store_verdicts
from recommendations.models import Assessment
from scoring.engine import compute_score
from tests.factories import (
    make_assessment,
    make_control,
    make_recommendation,
    make_resource,
    make_subscription,
    make_user,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def eager_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tasks, as on the SQLite pass, whatever REDIS_URL says (the clock is travelled here)."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def control_points(name: str) -> Decimal:
    return next(c.current for c in compute_score(ESTATE).controls if c.name == name)


@pytest.mark.usefixtures("eager_celery")
def test_exempted_resource_counts_as_not_applicable_until_it_expires_and_the_held_verdict_returns():
    with time_machine.travel(NOW, tick=False):
        rec = make_recommendation("vector-11")
        make_control("Vector 11", 4, [rec])
        for _ in range(3):
            make_assessment(make_resource(), rec, "healthy")
        web = make_resource(name="web-01")
        make_assessment(web, rec, "unhealthy", reason="3 rules failed")
        analyst = make_user("analyst", role=Role.ANALYST)
        assert control_points("Vector 11") == Decimal("3.00")

        exemption = exemptions.create_exemption(
            user=analyst,
            recommendation=rec,
            category="waiver",
            justification="legacy host, replaced in January",
            expires_at=NOW + timedelta(days=7),
            resource=web,
        )
        assessment = Assessment.objects.get(resource=web, recommendation=rec)
        assert (assessment.status, assessment.reason) == ("not_applicable", "Exempted: Waiver")
        assert control_points("Vector 11") == Decimal("4.00")
        score = next(c for c in compute_score(ESTATE).controls if c.name == "Vector 11")
        assert (score.healthy, score.unhealthy, score.not_applicable) == (3, 0, 1)

    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        # A scan while exempted: the verdict waits, the exemption's status stays.
        store_verdicts({(web.pk, rec.key): Verdict("healthy", "", evidence=True)}, OS_CONFIG)
        store_verdicts({(web.pk, rec.key): Verdict("unhealthy", "1 rule failed", evidence=True)}, OS_CONFIG)
        assessment.refresh_from_db()
        assert (assessment.status, assessment.reason) == ("not_applicable", "Exempted: Waiver")
        assert (assessment.held_status, assessment.held_reason) == ("unhealthy", "1 rule failed")
        assert control_points("Vector 11") == Decimal("4.00")

    with time_machine.travel(NOW + timedelta(days=7, seconds=1), tick=False):
        assert lapse_exemptions.delay().get() == 1
        assessment.refresh_from_db()
        assert (assessment.status, assessment.reason) == ("unhealthy", "1 rule failed")
        assert (assessment.held_status, assessment.held_reason) == ("", "")
        assert control_points("Vector 11") == Decimal("3.00")
        exemption.refresh_from_db()
        assert exemption.ended_at == NOW + timedelta(days=7, seconds=1)
        ended = AuditEvent.objects.get(action="exemption_end")
        assert ended.after == {"ended_at": exemption.ended_at.isoformat(), "why": "expired"}


def test_a_subscription_exemption_covers_resources_imported_later():
    prod = make_subscription("Production")
    rec = make_recommendation()
    analyst = make_user()
    exemptions.create_exemption(
        user=analyst, recommendation=rec, category="mitigated", justification="WAF", subscription=prod
    )
    later = make_resource(prod)
    make_assessment(later, rec, "unhealthy")
    assert exemptions.apply_exemptions([later.pk]) == 1
    assert Assessment.objects.get(resource=later).reason == "Exempted: Mitigated"


def test_ending_one_of_two_overlapping_exemptions_keeps_the_other():
    prod = make_subscription("Production")
    rec = make_recommendation()
    vm = make_resource(prod, resource_group="web")
    make_assessment(vm, rec, "unhealthy")
    analyst = make_user()
    everywhere = exemptions.create_exemption(
        user=analyst, recommendation=rec, category="waiver", justification="all of them"
    )
    group = exemptions.create_exemption(
        user=analyst,
        recommendation=rec,
        category="mitigated",
        justification="the group has a WAF",
        subscription=prod,
        resource_group="WEB",
    )
    exempted_since = Assessment.objects.get(resource=vm).status_changed
    exemptions.end_exemption(everywhere, user=analyst)
    assessment = Assessment.objects.get(resource=vm)
    assert assessment.status_changed == exempted_since
    assert (assessment.status, assessment.reason, assessment.held_status) == (
        "not_applicable",
        "Exempted: Mitigated",
        "unhealthy",
    )
    exemptions.end_exemption(group, user=analyst)
    assessment.refresh_from_db()
    assert (assessment.status, assessment.held_status) == ("unhealthy", "")


# --- pages ------------------------------------------------------------------------------------------


def test_an_analyst_exempts_from_the_recommendation_page_and_ends_it_from_the_list(client):
    rec = make_recommendation("disk-encryption", display_name="Disk encryption")
    vm = make_resource(name="db-01")
    make_assessment(vm, rec, "unhealthy")
    client.force_login(make_user("analyst", role=Role.ANALYST))

    page = client.get("/recommendations/disk-encryption/").content.decode()
    assert 'href="/exemptions/new/?recommendation=disk-encryption"' in page
    form = client.get("/exemptions/new/?recommendation=disk-encryption").content.decode()
    assert '<option value="disk-encryption" selected>' in form

    response = client.post(
        "/exemptions/new/",
        {
            "recommendation": "disk-encryption",
            "scope": "resource",
            "resource": "db-01",
            "category": "mitigated",
            "justification": "encrypted by the SAN",
            "expires": "2099-01-31",
        },
    )
    assert response.status_code == 302
    exemption = Exemption.objects.get()
    assert exemption.resource == vm
    assert exemption.expires_at is not None
    assert exemption.expires_at.date().isoformat() == "2099-01-31"
    listing = client.get("/exemptions/").content.decode()
    assert "encrypted by the SAN" in listing
    assert "resource db-01" in listing
    assert "analyst" in listing

    assert client.post(f"/exemptions/{exemption.pk}/end/").status_code == 302
    exemption.refresh_from_db()
    assert exemption.ended_at is not None
    assert Assessment.objects.get(resource=vm).status == "unhealthy"
    assert "Ended" in client.get("/exemptions/").content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"recommendation": "nope"}, "Choose a recommendation of the catalog."),
        ({"scope": "resource", "resource": "ghost"}, "No resource has the id or name &#x27;ghost&#x27;."),
        ({"scope": "group", "resource_group": "web"}, "Choose the subscription."),
        ({"category": "because"}, "Category &#x27;because&#x27; is not one of mitigated, waiver."),
        ({"justification": "  "}, "An exemption needs a justification."),
        ({"expires": "2020-01-01"}, "The expiry is in the past."),
        ({"expires": "2026-02-30"}, "The expiry &#x27;2026-02-30&#x27; is not a date (YYYY-MM-DD)."),
        ({"scope": "galaxy"}, "Choose the scope"),
    ],
)
def test_bad_exemption_input_is_a_clear_400_and_saves_nothing(client, data, message):
    make_recommendation("disk-encryption")
    make_resource(name="db-01")
    client.force_login(make_user("analyst", role=Role.ANALYST))
    valid = {
        "recommendation": "disk-encryption",
        "scope": "all",
        "category": "waiver",
        "justification": "accepted",
    }
    response = client.post("/exemptions/new/", {**valid, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Exemption.objects.exists()
    assert not AuditEvent.objects.filter(action="exempt").exists()


def test_viewers_see_exemptions_but_only_analysts_change_them(client):
    rec = make_recommendation("disk-encryption")
    analyst = make_user("analyst", role=Role.ANALYST)
    exemption = exemptions.create_exemption(
        user=analyst, recommendation=rec, category="waiver", justification="accepted"
    )
    client.force_login(make_user("viewer", role=Role.VIEWER))
    listing = client.get("/exemptions/")
    assert listing.status_code == 200
    assert "New exemption" not in listing.content.decode()
    assert "Exempt…" not in client.get("/recommendations/disk-encryption/").content.decode()
    assert client.get("/exemptions/new/").status_code == 403
    assert client.post(f"/exemptions/{exemption.pk}/end/").status_code == 403
    exemption.refresh_from_db()
    assert exemption.ended_at is None
