"""The dashboard and the control pages: the numbers, their links, the scope, and what anonymous users get."""

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.roles import Role
from intake.demo import load_demo
from posture.models import Subscription
from posture.scope import ESTATE
from scoring.engine import compute_score
from scoring.models import Control
from tests.factories import make_assessment, make_resource, make_subscription, make_user

pytestmark = pytest.mark.django_db

RSC = "Remediate security configurations"


@pytest.fixture
def user_client(client: Client) -> Client:
    client.force_login(make_user())
    return client


def links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', html)]


def page_links(html: str) -> list[str]:
    """The links to Posture's pages (not to static files, the admin or other sites)."""
    return [
        href for href in links(html) if href.startswith("/") and not href.startswith(("/static/", "/admin/"))
    ]


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def rsc() -> Control:
    return Control.objects.get(name=RSC)


def small_estate() -> None:
    """Production: one unhealthy, one healthy, one not-applicable machine; Staging: one healthy, a cluster."""
    production = make_subscription("Production", external_id="ext-prod")
    staging = make_subscription("Staging")
    make_assessment(
        make_resource(production, name="prod-1"),
        "vm-agent-installed",
        "unhealthy",
        reason="Agent not installed",
    )
    make_assessment(make_resource(production, name="prod-2"), "vm-agent-installed", "healthy")
    make_assessment(make_resource(production, name="prod-3"), "machine-config-vulns", "not_applicable")
    make_assessment(make_resource(staging, name="stg-1"), "vm-agent-installed", "healthy")
    cluster = make_resource(staging, name="aks-stg", kind="k8s_cluster", os="")
    make_assessment(cluster, "k8s-policy-addon", "unhealthy", reason="Gatekeeper missing")


@pytest.mark.parametrize("name", ["dashboard", "control"])
def test_anonymous_user_is_sent_to_the_login_page(client: Client, name: str):
    url = reverse(name, args=[rsc().pk] if name == "control" else [])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_dashboard_shows_the_secure_score_in_points_and_percent(user_client: Client):
    small_estate()
    response = user_client.get("/?subscription=Production")
    assert response.status_code == 200
    html = response.content.decode()
    # One healthy of two counted machines: 4 x 1/2 = 2.00 of 4 points, 50 %.
    assert "<strong>2.00</strong> / 4 points" in html
    assert ">50%<" in html


def test_dashboard_score_chart_data_is_a_json_script(user_client: Client):
    small_estate()
    response = user_client.get("/?subscription=Production")
    match = re.search(
        r'<script id="score-data" type="application/json">(.*?)</script>', response.content.decode()
    )
    assert match is not None
    assert json.loads(match.group(1)) == {"percent": 50.0, "empty": False}


def test_dashboard_shows_each_control_with_bar_points_and_counts(user_client: Client):
    small_estate()
    response = user_client.get("/")
    control = next(row.score for row in response.context["controls"] if row.score.name == RSC)
    report = compute_score(ESTATE)
    expected = next(c for c in report.controls if c.name == RSC)
    assert (control.healthy, control.unhealthy, control.not_applicable) == (2, 1, 2)
    assert (control.current, control.max) == (expected.current, expected.max)
    html = response.content.decode()
    assert f"{expected.current:.2f} / {expected.max}" in html
    assert f'<meter min="0" max="1" low="0.5" high="0.8" optimum="1" value="{expected.percentage}">' in html


def test_dashboard_control_counts_link_to_the_resources_behind_them(user_client: Client):
    small_estate()
    control = rsc()
    html = user_client.get("/?subscription=Production").content.decode()
    for state, count in (("unhealthy", 1), ("healthy", 1), ("not_applicable", 1)):
        href = f"/resources/?subscription=Production&control={control.pk}&state={state}"
        assert f'href="{href.replace("&", "&amp;")}">{count}</a>' in html
        listed = user_client.get(href)
        assert listed.status_code == 200
        assert listed.context["page_obj"].paginator.count == count


def test_dashboard_lists_subscriptions_with_score_percentage_and_weight(user_client: Client):
    small_estate()
    response = user_client.get("/")
    rows = {row.score.name: row for row in response.context["subscriptions"]}
    assert set(rows) == {"Production", "Staging"}
    assert (rows["Production"].score.weight, rows["Production"].percent) == (2, 50)
    # The Staging cluster is assessed only by a preview recommendation: it does not weigh.
    assert rows["Staging"].score.weight == 1
    html = response.content.decode()
    weight_link = "/resources/?subscription=Production&amp;state=counted"
    assert f'href="{weight_link}">2</a>' in html
    counted = user_client.get(unescape(weight_link))
    assert counted.context["page_obj"].paginator.count == 2


def test_scope_selector_lists_subscriptions_and_selects_the_scoped_one(user_client: Client):
    small_estate()
    html = user_client.get("/?subscription=Staging").content.decode()
    assert '<option value="">All subscriptions</option>' in html
    assert '<option value="Production">Production</option>' in html
    assert '<option value="Staging" selected>Staging</option>' in html


def test_every_page_link_on_a_scoped_dashboard_keeps_the_scope(user_client: Client):
    small_estate()
    html = user_client.get("/?subscription=Production").content.decode()
    hrefs = page_links(html)
    assert hrefs
    for href in hrefs:
        # The login pages and the API's documentation have no scope.
        if href.startswith(("/accounts/", "/api/docs/")):
            continue
        assert query_of(href).get("subscription") in (["Production"], ["Staging"]), href


def test_subscription_can_be_given_by_its_cloud_id(user_client: Client):
    small_estate()
    response = user_client.get("/?subscription=EXT-PROD")
    assert response.status_code == 200
    assert response.context["scope"].label == "Production"
    assert "<strong>2.00</strong> / 4 points" in response.content.decode()


@pytest.mark.parametrize("url", ["/?subscription=nowhere", "/controls/{pk}/?subscription=nowhere"])
def test_unknown_subscription_is_a_404_with_a_message(user_client: Client, url: str):
    small_estate()
    response = user_client.get(url.format(pk=rsc().pk))
    assert response.status_code == 404
    html = response.content.decode()
    assert "Unknown subscription" in html
    assert "No subscription named or with id &#x27;nowhere&#x27;" in html


def test_empty_estate_shows_zero_and_an_invitation_to_import(user_client: Client):
    response = user_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>0.00</strong> / 0 points" in html
    assert "No subscriptions yet" in html


def test_names_from_imports_are_escaped(user_client: Client):
    sub = make_subscription("<script>alert(1)</script>")
    make_assessment(make_resource(sub), "vm-agent-installed", "unhealthy")
    html = user_client.get("/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_staff_see_the_admin_link_and_everyone_a_logout_form(client: Client):
    client.force_login(make_user("boss", role=Role.ADMIN))
    html = client.get("/").content.decode()
    assert 'href="/admin/"' in html
    assert re.search(
        r'<form method="post" action="/accounts/logout/">\s*<input type="hidden" name="csrfmiddlewaretoken"',
        html,
    )
    client.force_login(make_user("analyst2"))
    html = client.get("/").content.decode()
    assert 'href="/admin/"' not in html
    assert "analyst2" in html


def test_dashboard_queries_do_not_grow_with_the_estate(user_client: Client):
    small_estate()

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert user_client.get("/").status_code == 200
        return len(context.captured_queries)

    before = queries()
    extra = make_subscription("Extra")
    for i in range(20):
        make_assessment(make_resource(extra), "vm-agent-installed", "unhealthy" if i % 2 else "healthy")
    assert queries() == before


def test_control_page_lists_recommendations_with_counts_linking_to_their_tabs(user_client: Client):
    small_estate()
    control = rsc()
    response = user_client.get(f"/controls/{control.pk}/?subscription=Production")
    assert response.status_code == 200
    html = response.content.decode()
    assert RSC in html
    agent = next(
        row.score for row in response.context["recommendations"] if row.score.key == "vm-agent-installed"
    )
    assert (agent.unhealthy, agent.healthy, agent.not_applicable) == (1, 1, 0)
    # Fixing prod-1 makes both machines healthy: 2.00 -> 4.00.
    assert "+2.00" in html
    for tab, count in (("unhealthy", 1), ("healthy", 1), ("not_applicable", 0)):
        href = f"/recommendations/vm-agent-installed/?subscription=Production&tab={tab}"
        assert f'href="{href.replace("&", "&amp;")}">{count}</a>' in html


def test_control_page_marks_preview_recommendations_as_not_counted(user_client: Client):
    small_estate()
    response = user_client.get(f"/controls/{rsc().pk}/")
    html = response.content.decode()
    preview = next(row for row in response.context["recommendations"] if row.score.key == "k8s-policy-addon")
    assert preview.score.preview
    assert not preview.score.counted
    assert preview.score.unhealthy == 1
    assert 'class="badge preview">Preview</span>' in html
    assert "do not count toward the secure score" in html
    uncounted = re.findall(r'<tr class="uncounted">.*?</tr>', html, re.S)
    row = next(row for row in uncounted if "/recommendations/k8s-policy-addon/" in row)
    assert "not counted" in row


def test_control_page_counts_preview_when_settings_say_so(user_client: Client, settings):
    settings.POSTURE_COUNT_PREVIEW = True
    small_estate()
    html = user_client.get(f"/controls/{rsc().pk}/").content.decode()
    assert "do not count toward the secure score" not in html
    assert 'class="uncounted"' not in html


def test_unknown_control_is_a_404(user_client: Client):
    assert user_client.get("/controls/999999/").status_code == 404


def test_every_link_of_the_dashboard_and_the_pages_it_links_to_answers_200(user_client: Client):
    """Crawl two levels deep from the dashboard of the demo estate, scoped and unscoped."""
    load_demo()
    make_user("boss", role=Role.ADMIN)
    first = Subscription.objects.order_by("name").first()
    assert first is not None
    start = ["/", f"/?{urlencode({'subscription': first.name})}"]
    seen: set[str] = set()
    level = start
    for _ in range(3):
        following: list[str] = []
        for href in level:
            if href in seen or href.startswith("/accounts/"):
                continue
            seen.add(href)
            response = user_client.get(href)
            assert response.status_code == 200, href
            if response.streaming:
                # A download (the findings exports): it answered; there are no links to follow in it.
                assert response["Content-Disposition"].startswith("attachment"), href
                continue
            following.extend(page_links(response.content.decode()))
        level = following
    assert len(seen) > 100
    paths = {urlsplit(href).path for href in seen}
    assert any(path.startswith("/controls/") for path in paths)
    assert any(path.startswith("/recommendations/") for path in paths)
    assert any(path.startswith("/resources/") and path != "/resources/" for path in paths)
