"""Two towers on one machine, and a tower's scale set: what each tower reads of the other's items there,
how refused reassignments read, and the instances behind a scale set's item.

The estate: web-1 (subscription Shared) is tower Linux's machine (its OS-configuration item, owned by
lin-lead); an analyst gave one of its failed rules (ssh) to tower Windows (owned by win-lead). db-1
(subscription Bravo) is Windows' alone. The scale set pool (Shared) is Linux's; its instances pool_0
and pool_1 fail the dmesg rule.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.assignments import ASSIGN_REFUSAL, MEMBER_REFUSAL, assign
from governance.models import Assignment, AssignmentStatus, Team
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from posture.models import Resource, ResourceKind, SubscriptionGroup
from recommendations.evaluators.os_config import MACHINE_KEY, SCALE_SET_KEY
from recommendations.models import Assessment, Finding
from tests.factories import make_resource, make_subscription, make_user
from tests.scans import scan_xccdf

pytestmark = pytest.mark.django_db

SSH, DMESG = "sshd_disable_root_login", "sysctl_kernel_dmesg_restrict"
# What tower Linux must never read: tower Windows' name, people and machine.
WINDOWS_WORDS = ("Windows servers", "win-lead", "win-member", "db-1")


@dataclass
class Estate:
    linux: Team
    windows: Team
    lin_lead: User
    lin_member: User
    win_lead: User
    analyst: User
    web: Resource
    db: Resource
    pool: Resource
    instance: Resource
    machine_item: Assignment  # Linux's item of web-1
    ssh_item: Assignment  # Windows' item of web-1's failed ssh rule
    db_finding: Finding


def os_config_item(resource: Resource, key: str, team: Team, owner: str, **fields: Any) -> Assignment:
    created = Assignment.objects.create(
        assessment=Assessment.objects.get(resource=resource, recommendation__key=key),
        team=team,
        owner=owner,
        first_detected=timezone.now(),
        due_date=fields.pop("due_date", date(2026, 12, 31)),
        **fields,
    )
    refresh_tower_summaries([created.assessment.resource_id])
    return created


@pytest.fixture
def estate() -> Estate:
    shared, bravo = make_subscription("Shared"), make_subscription("Bravo")
    SubscriptionGroup.objects.create(name="bravo-only").subscriptions.add(bravo)
    linux, windows = Team.objects.create(name="Linux servers"), Team.objects.create(name="Windows servers")
    lin_lead = make_user("lin-lead", role=Role.LEAD, team=linux, email="lin-lead@example.com")
    lin_member = make_user("lin-member", role=Role.MEMBER, team=linux, email="lin-member@example.com")
    win_lead = make_user("win-lead", role=Role.LEAD, team=windows, email="win-lead@example.com")
    make_user("win-member", role=Role.MEMBER, team=windows, email="win-member@example.com")
    analyst = make_user("analyst", role=Role.ANALYST)
    web = make_resource(shared, name="web-1")
    db = make_resource(bravo, name="db-1")
    pool = make_resource(shared, name="pool", kind=ResourceKind.VMSS)
    instance = make_resource(shared, name="pool_0", kind=ResourceKind.VMSS_INSTANCE, parent=pool)
    make_resource(shared, name="pool_1", kind=ResourceKind.VMSS_INSTANCE, parent=pool)
    scan_xccdf("web-1", {SSH: "fail", DMESG: "fail"})
    scan_xccdf("db-1", {SSH: "fail"})
    scan_xccdf("pool_0", {DMESG: "fail"})
    scan_xccdf("pool_1", {DMESG: "fail"})
    machine_item = os_config_item(
        web,
        MACHINE_KEY,
        linux,
        "lin-lead@example.com",
        status=AssignmentStatus.IN_PROGRESS,
        due_date=date(2026, 12, 30),
    )
    os_config_item(db, MACHINE_KEY, windows, "win-lead@example.com")
    os_config_item(pool, SCALE_SET_KEY, linux, "lin-member@example.com", due_date=date(2027, 1, 15))
    ssh = Finding.objects.get(resource=web, rule__rule_id__endswith=SSH)
    ssh_item = assign(
        user=analyst,
        assessment=machine_item.assessment,
        finding=ssh,
        team=windows,
        owner="win-lead@example.com",
        due=date(2026, 12, 15),
    )
    return Estate(
        linux=linux,
        windows=windows,
        lin_lead=lin_lead,
        lin_member=lin_member,
        win_lead=win_lead,
        analyst=analyst,
        web=web,
        db=db,
        pool=pool,
        instance=instance,
        machine_item=machine_item,
        ssh_item=ssh_item,
        db_finding=Finding.objects.get(resource=db),
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def governance_of(user: User, query: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(machine, rule) -> (team, owner, due date, status) of the findings API's rows."""
    response = client_for(user).get(f"/api/v1/findings/?severity=all&{query}")
    assert response.status_code == 200, response.content
    return {
        (row["resource_name"], row["rule"].rsplit("_rule_", 1)[1]): (
            row["team"],
            row["owner"],
            row["due_date"],
            row["status"],
        )
        for row in response.json()["results"]
    }


def export_text(user: User, kind: str, query: str) -> str:
    """The export's cells as text (an XLSX's XML unzipped)."""
    response = client_for(user).get(f"/api/v1/findings/export.{kind}?severity=all&{query}")
    assert response.status_code == 200, response.content
    body = response.getvalue()
    if kind == "csv":
        return body.decode()
    with zipfile.ZipFile(io.BytesIO(body)) as workbook:
        return "".join(workbook.read(name).decode() for name in workbook.namelist())


# --- one function decides what of an item a caller sees ---------------------------------------------


def test_a_tower_reads_a_failed_rule_given_to_another_tower_as_if_it_had_no_item_of_its_own(
    estate: Estate,
) -> None:
    linux_item = ("Linux servers", "lin-lead@example.com", "2026-12-30", "in_progress")
    for user in (estate.lin_lead, estate.lin_member):
        assert governance_of(user, f"resource={estate.web.pk}") == {
            ("web-1", SSH): linux_item,
            ("web-1", DMESG): linux_item,
        }
        for kind in ("csv", "xlsx"):
            text = export_text(user, kind, f"resource={estate.web.pk}")
            assert "lin-lead@example.com" in text
            for word in WINDOWS_WORDS:
                assert word not in text, (kind, word)
    detail = client_for(estate.lin_lead).get(f"/api/v1/findings/{estate.ssh_item.finding_id}/").json()
    assert (detail["team"], detail["owner"]) == linux_item[:2]


def test_the_other_tower_reads_its_own_item_and_nothing_of_the_machines_item(estate: Estate) -> None:
    assert governance_of(estate.win_lead, f"resource={estate.web.pk}") == {
        ("web-1", SSH): ("Windows servers", "win-lead@example.com", "2026-12-15", "open"),
        ("web-1", DMESG): (None, None, None, None),
    }
    # Filtering by tower Linux's team, lead or due date finds what an unknown one finds: nothing.
    for query in (
        f"team={estate.linux.pk}",
        "team=Linux servers",
        "owner=lin-lead@example.com",
        "due_after=2026-12-30&due_before=2026-12-30",
    ):
        assert governance_of(estate.win_lead, query) == {}, query
        rows = list(csv.reader(io.StringIO(export_text(estate.win_lead, "csv", query))))
        assert len(rows) == 1, query  # the header alone
    assert governance_of(estate.win_lead, "team=999999") == {}


def test_an_analyst_reads_every_item(estate: Estate) -> None:
    assert governance_of(estate.analyst, f"resource={estate.web.pk}") == {
        ("web-1", SSH): ("Windows servers", "win-lead@example.com", "2026-12-15", "open"),
        ("web-1", DMESG): ("Linux servers", "lin-lead@example.com", "2026-12-30", "in_progress"),
    }
    text = export_text(estate.analyst, "csv", f"resource={estate.web.pk}")
    assert "win-lead@example.com" in text
    assert "lin-lead@example.com" in text


# --- scopes resolve through the caller's towers ----------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_answers_another_towers_subscription_or_group_as_an_unknown_one(
    estate: Estate, kind: str
) -> None:
    lead = client_for(estate.lin_lead)

    def answer(value: str) -> tuple[int, str]:
        response = lead.get(f"/api/v1/findings/export.{kind}?subscription={value}")
        return response.status_code, response.content.decode().replace(value.removeprefix("group:"), "X")

    assert answer("Bravo") == answer("Nowhere")
    assert answer("Bravo")[0] == 404
    assert answer("group:bravo-only") == answer("group:nowhere")
    assert lead.get(f"/api/v1/findings/export.{kind}?subscription=Shared").status_code == 200
    analyst = client_for(estate.analyst).get(f"/api/v1/findings/export.{kind}?subscription=Bravo")
    assert analyst.status_code == 200


# --- reassigning: the role, then the tower, then anything else -------------------------------------


def api_patch(user: User, item: Assignment, data: dict[str, Any]) -> tuple[int, str]:
    response = client_for(user).patch(
        f"/api/v1/assignments/{item.pk}/", data, content_type="application/json"
    )
    return response.status_code, response.json()["detail"]


@pytest.mark.parametrize(
    ("who", "refusal"),
    [("lin_lead", ASSIGN_REFUSAL), ("lin_member", MEMBER_REFUSAL)],
    ids=["lead", "member"],
)
def test_reassigning_outside_the_tower_is_one_refusal_whatever_the_team_or_owner(
    estate: Estate, who: str, refusal: str
) -> None:
    user = getattr(estate, who)
    attempts: list[dict[str, Any]] = [
        {"team": estate.windows.pk, "owner": "win-lead@example.com"},
        {"team": estate.windows.pk, "owner": "nobody@example.com"},
        {"team": 999_999, "owner": "nobody@example.com"},
        {"team": 999_999},
    ]
    for data in attempts:
        assert api_patch(user, estate.machine_item, data) == (403, refusal), data
        for path, fields in (
            ("/items/bulk/", {"action": "assign", "item": estate.machine_item.pk}),
            ("/assign/", {"assessment": estate.machine_item.assessment_id}),
        ):
            response = client_for(user).post(path, {**fields, **data}, follow=True)
            if who == "lin_member" and path == "/assign/":
                assert response.status_code == 403  # members may not open the route at all
                continue
            (message,) = [str(m) for m in get_messages(response.wsgi_request)]
            assert message.endswith(f": {refusal}."), (path, data, message)
    estate.machine_item.refresh_from_db()
    assert (estate.machine_item.team, estate.machine_item.owner) == (estate.linux, "lin-lead@example.com")


def test_a_members_owner_change_is_refused_before_the_owner_is_looked_up(estate: Estate) -> None:
    for owner in ("lin-lead@example.com", "win-lead@example.com", "nobody@example.com"):
        assert api_patch(estate.lin_member, estate.machine_item, {"owner": owner}) == (403, MEMBER_REFUSAL)


def test_a_lead_still_reassigns_within_the_tower_and_hears_of_an_owner_outside_it(estate: Estate) -> None:
    assert api_patch(estate.lin_lead, estate.machine_item, {"owner": "win-lead@example.com"}) == (
        400,
        "win-lead@example.com is not a member of Linux servers",
    )
    response = client_for(estate.lin_lead).patch(
        f"/api/v1/assignments/{estate.machine_item.pk}/",
        {"team": estate.linux.pk, "owner": "lin-member@example.com"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["owner"] == "lin-member@example.com"


def test_assigning_another_towers_failed_rule_is_the_answer_for_one_that_does_not_exist(
    estate: Estate,
) -> None:
    def message(finding: int) -> str:
        response = client_for(estate.lin_lead).post(
            "/assign/",
            {"assessment": estate.machine_item.assessment_id, "finding": finding, "team": estate.linux.pk},
            follow=True,
        )
        (text,) = [str(m) for m in get_messages(response.wsgi_request)]
        return re.sub(str(finding), "N", text)

    assert message(estate.db_finding.pk) == message(999_999) == "Not assigned: there is no failed rule 'N'."
    assert not Assignment.objects.filter(finding=estate.db_finding).exists()
    api = client_for(estate.lin_lead).post(
        "/api/v1/assignments/",
        {"assessment": estate.machine_item.assessment_id, "finding": estate.db_finding.pk},
        content_type="application/json",
    )
    assert api.status_code == 404


# --- a tower's scale set ---------------------------------------------------------------------------


def test_a_tower_sees_its_scale_sets_instances_and_the_failed_rules_behind_its_item(estate: Estate) -> None:
    lead = client_for(estate.lin_lead)
    pool = lead.get(reverse("resource", args=[estate.pool.pk]))
    assert [i.name for i in pool.context["instances"]] == ["pool_0", "pool_1"]
    instance = lead.get(reverse("resource", args=[estate.instance.pk]))
    assert instance.status_code == 200
    assert instance.context["parent_visible"]
    pool_item = ("Linux servers", "lin-member@example.com", "2027-01-15", "open")
    assert governance_of(estate.lin_lead, "recommendation=vmss-config-vulns") == {
        ("pool_0", DMESG): pool_item,
        ("pool_1", DMESG): pool_item,
    }
    assert "pool_1" in export_text(estate.lin_member, "csv", "recommendation=vmss-config-vulns")
    for resource in (estate.pool, estate.instance):
        assert client_for(estate.win_lead).get(reverse("resource", args=[resource.pk])).status_code == 404
    assert governance_of(estate.win_lead, "recommendation=vmss-config-vulns") == {}
