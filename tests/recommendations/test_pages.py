"""The recommendation page: its tabs and their counts, the Reason column, sorting, pagination and scope."""

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from posture.models import Subscription
from posture.scope import ESTATE, Scope
from scoring.engine import compute_score
from tests.factories import make_assessment, make_resource, make_subscription, make_user

pytestmark = pytest.mark.django_db

URL = "/recommendations/vm-agent-installed/"


@pytest.fixture
def user_client(client: Client) -> Client:
    client.force_login(make_user())
    return client


def names(response) -> list[str]:
    return [assessment.resource.name for assessment in response.context["page_obj"]]


def reasons(html: str) -> list[str]:
    return [unescape(cell) for cell in re.findall(r'<td class="reason">(.*?)</td>', html, re.S)]


def links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', html)]


def machines(subscription: Subscription, statuses: dict[str, str]) -> None:
    for name, status in statuses.items():
        make_assessment(make_resource(subscription, name=name), "vm-agent-installed", status)


def test_anonymous_user_is_sent_to_the_login_page(client: Client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_page_shows_description_remediation_severity_and_controls(user_client: Client):
    html = user_client.get(URL).content.decode()
    assert "Log Analytics agent should be installed on your virtual machines" in html
    assert "Description" in html
    assert "Remediation" in html
    assert "High severity" in html
    assert "Remediate security configurations</a>" in html
    assert "Preview" not in html


def test_preview_recommendation_has_a_badge_and_says_it_does_not_count(user_client: Client):
    html = user_client.get("/recommendations/k8s-policy-addon/").content.decode()
    assert '<span class="badge preview">Preview</span>' in html
    assert "does not count toward the secure score" in html


def test_tabs_show_their_counts_and_default_to_unhealthy(user_client: Client):
    sub = make_subscription()
    machines(sub, {"a": "unhealthy", "b": "unhealthy", "c": "healthy", "d": "not_applicable", "e": "healthy"})
    response = user_client.get(URL)
    assert response.context["tabs"] == [
        ("unhealthy", "Unhealthy", 2),
        ("healthy", "Healthy", 2),
        ("not_applicable", "Not applicable", 1),
    ]
    assert response.context["tab"] == "unhealthy"
    assert names(response) == ["a", "b"]
    html = response.content.decode()
    assert re.search(r'href="\?tab=healthy"[^>]*>\s*Healthy <span class="tab-count">2</span>', html)


@pytest.mark.parametrize(
    ("tab", "expected"), [("healthy", ["c"]), ("not_applicable", ["d"]), ("bogus", ["a"]), ("", ["a"])]
)
def test_tab_selects_the_status_and_an_unknown_tab_shows_unhealthy(user_client: Client, tab, expected):
    machines(make_subscription(), {"a": "unhealthy", "c": "healthy", "d": "not_applicable"})
    assert names(user_client.get(f"{URL}?tab={tab}")) == expected


def test_tab_counts_agree_with_the_engine(user_client: Client):
    production, staging = make_subscription("Production"), make_subscription("Staging")
    machines(production, {"p1": "unhealthy", "p2": "healthy", "p3": "not_applicable"})
    machines(staging, {"s1": "unhealthy", "s2": "unhealthy"})
    for query, scope in (("", ESTATE), ("?subscription=Staging", Scope((staging.pk,), "Staging"))):
        counts = {value: count for value, _, count in user_client.get(URL + query).context["tabs"]}
        engine = next(
            rec
            for control in compute_score(scope).controls
            for rec in control.recommendations
            if rec.key == "vm-agent-installed"
        )
        assert counts == {
            "unhealthy": engine.unhealthy,
            "healthy": engine.healthy,
            "not_applicable": engine.not_applicable,
        }


def test_reason_column_shows_reason_else_cause_else_a_dash(user_client: Client):
    sub = make_subscription()
    make_assessment(
        make_resource(sub, name="a"), "vm-agent-installed", "unhealthy", reason="Agent not installed"
    )
    make_assessment(make_resource(sub, name="b"), "vm-agent-installed", "unhealthy", cause="OffByPolicy")
    make_assessment(make_resource(sub, name="c"), "vm-agent-installed", "unhealthy")
    make_assessment(
        make_resource(sub, name="d"), "vm-agent-installed", "unhealthy", reason="<b>2 failed</b>", cause="X"
    )
    html = user_client.get(URL).content.decode()
    assert reasons(html) == ["Agent not installed", "OffByPolicy", "—", "<b>2 failed</b>"]
    assert "<b>2 failed</b>" not in html


def test_table_columns_link_names_to_resource_pages(user_client: Client):
    sub = make_subscription("Production")
    resource = make_resource(sub, name="web-1", resource_group="rg-web")
    make_assessment(resource, "vm-agent-installed", "unhealthy", reason="Agent not installed")
    html = user_client.get(f"{URL}?subscription=Production").content.decode()
    assert f'href="/resources/{resource.pk}/?subscription=Production">web-1</a>' in html
    for cell in ("Production", "rg-web", "Virtual machine", "Linux"):
        assert f"<td>{cell}</td>" in html
    for header in ("Name", "Subscription", "Resource group", "Kind", "OS", "Reason", "Status changed"):
        assert f">{header}</a>" in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["alpha", "bravo", "charlie"]),
        ("-name", ["charlie", "bravo", "alpha"]),
        ("reason", ["bravo", "charlie", "alpha"]),
        ("-reason", ["alpha", "charlie", "bravo"]),
        ("status_changed", ["charlie", "alpha", "bravo"]),
        ("-status_changed", ["bravo", "alpha", "charlie"]),
        ("subscription", ["charlie", "alpha", "bravo"]),
        ("nonsense", ["alpha", "bravo", "charlie"]),
        ("-", ["alpha", "bravo", "charlie"]),
        ("resource__name;drop", ["alpha", "bravo", "charlie"]),
    ],
)
def test_sorting_by_column_and_an_unknown_sort_falls_back_to_name(user_client: Client, sort, expected):
    a_sub, z_sub = make_subscription("A-sub"), make_subscription("Z-sub")
    now = timezone.now()
    rows = [
        ("alpha", z_sub, "Zeta reason", now - timedelta(days=2)),
        ("bravo", z_sub, "", now - timedelta(days=1)),
        ("charlie", a_sub, "Middle reason", now - timedelta(days=3)),
    ]
    for name, sub, reason, changed in rows:
        make_assessment(
            make_resource(sub, name=name),
            "vm-agent-installed",
            "unhealthy",
            reason=reason,
            status_changed=changed,
        )
    response = user_client.get(f"{URL}?sort={sort}")
    assert response.status_code == 200
    assert names(response) == expected


def test_sort_header_links_toggle_direction_and_keep_other_parameters(user_client: Client):
    machines(make_subscription("Production"), {"a": "healthy"})
    html = user_client.get(f"{URL}?subscription=Production&tab=healthy&sort=reason&page=1").content.decode()
    hrefs = {href for href in links(html) if "sort=" in href}
    assert "?subscription=Production&tab=healthy&sort=-reason" in hrefs
    assert "?subscription=Production&tab=healthy&sort=name" in hrefs
    assert 'aria-sort="ascending"' in html


def many_unhealthy(count: int, subscription: Subscription | None = None) -> None:
    sub = subscription or make_subscription("Production")
    for i in range(count):
        resource = make_resource(sub, name=f"vm-{i:03d}", resource_id=f"/{sub.name}/vm-{i:03d}")
        make_assessment(resource, "vm-agent-installed", "unhealthy")


def test_fifty_rows_per_page_and_page_links_keep_the_query(user_client: Client):
    many_unhealthy(120)
    response = user_client.get(f"{URL}?subscription=Production&sort=-name&page=2")
    page = response.context["page_obj"]
    assert (page.number, page.paginator.num_pages, len(page.object_list)) == (2, 3, 50)
    assert names(response)[0] == "vm-069"
    html = response.content.decode()
    assert "51\N{EN DASH}100 of 120" in html
    for target in ("1", "3"):
        href = next(h for h in links(html) if parse_qs(urlsplit(h).query).get("page") == [target])
        assert parse_qs(urlsplit(href).query) == {
            "subscription": ["Production"],
            "sort": ["-name"],
            "page": [target],
        }
        assert user_client.get(URL + href).status_code == 200


@pytest.mark.parametrize(
    ("page", "shown"), [("999", 3), ("0", 3), ("-1", 3), ("abc", 1), ("", 1), ("2.5", 1)]
)
def test_a_page_out_of_range_shows_the_last_page_and_a_non_number_the_first(user_client: Client, page, shown):
    many_unhealthy(120)
    response = user_client.get(f"{URL}?page={page}")
    assert response.status_code == 200
    assert response.context["page_obj"].number == shown


def test_empty_tab_says_so(user_client: Client):
    response = user_client.get(f"{URL}?tab=healthy&page=5")
    assert response.status_code == 200
    assert "No healthy resources." in response.content.decode()


def test_scope_limits_rows_and_counts(user_client: Client):
    machines(make_subscription("Production"), {"p1": "unhealthy"})
    machines(make_subscription("Staging"), {"s1": "unhealthy", "s2": "unhealthy"})
    response = user_client.get(f"{URL}?subscription=Staging")
    assert names(response) == ["s1", "s2"]
    assert response.context["tabs"][0] == ("unhealthy", "Unhealthy", 2)


def test_unknown_subscription_is_a_404_with_a_message(user_client: Client):
    response = user_client.get(f"{URL}?subscription=nowhere&tab=healthy")
    assert response.status_code == 404
    assert "Unknown subscription" in response.content.decode()


def test_unknown_recommendation_is_a_404(user_client: Client):
    assert user_client.get("/recommendations/no-such-thing/").status_code == 404


def test_every_link_answers_200(user_client: Client):
    many_unhealthy(60)
    html = user_client.get(f"{URL}?subscription=Production").content.decode()
    for href in links(html):
        if href.startswith("?"):
            href = URL + href
        if href.startswith(("/static/", "/admin/", "/accounts/")):
            continue
        assert user_client.get(href).status_code == 200, href


def test_queries_do_not_grow_with_the_rows_shown(user_client: Client):
    many_unhealthy(3)

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert user_client.get(URL).status_code == 200
        return len(context.captured_queries)

    before = queries()
    many_unhealthy(40, make_subscription("Staging"))
    assert queries() == before
