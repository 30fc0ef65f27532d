"""The resource list (filters that agree with the engine), the resource page, and logging in and out."""

import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from posture.models import Resource, Subscription
from posture.scope import ESTATE, Scope
from recommendations.models import Recommendation
from recommendations.selectors import ResourceFilter, ResourceState, filtered_resources
from scoring.engine import compute_score
from scoring.models import Control
from tests.factories import make_assessment, make_recommendation, make_resource, make_subscription, make_user

pytestmark = pytest.mark.django_db

RSC = "Remediate security configurations"
STATES = (ResourceState.HEALTHY, ResourceState.UNHEALTHY, ResourceState.NOT_APPLICABLE)


@pytest.fixture
def user_client(client: Client) -> Client:
    client.force_login(make_user())
    return client


def links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', html)]


def names(response) -> list[str]:
    return [resource.name for resource in response.context["page_obj"]]


def rsc() -> Control:
    return Control.objects.get(name=RSC)


def mixed_estate() -> tuple[Subscription, Subscription]:
    """Every way a resource can land in a control: counted or not, preview or not, two controls."""
    a, b = make_subscription("A"), make_subscription("B")
    other = make_recommendation("mfa-test")
    Control.objects.get(name="Enable MFA").recommendations.add(other)

    def machine(sub: Subscription, name: str, kind: str = "vm", **statuses: str) -> None:
        resource = make_resource(sub, name=name, kind=kind, os="" if kind == "k8s_cluster" else "linux")
        for key, status in statuses.items():
            make_assessment(resource, key.replace("_", "-"), status, reason=f"{name} is {status}")

    machine(a, "a-unhealthy", vm_agent_installed="unhealthy", machine_config_vulns="healthy")
    machine(a, "a-healthy", vm_agent_installed="healthy", machine_config_vulns="healthy")
    machine(a, "a-na", vm_agent_installed="not_applicable", machine_config_vulns="not_applicable")
    machine(a, "a-preview-only", "k8s_cluster", k8s_policy_addon="unhealthy")
    machine(
        a, "a-preview-mixed", "k8s_cluster", k8s_policy_addon="healthy", k8s_apparmor_restricted="unhealthy"
    )
    machine(a, "a-healthy-preview-bad", vm_agent_installed="healthy", k8s_policy_addon="unhealthy")
    machine(a, "a-na-and-healthy", vm_agent_installed="not_applicable", machine_config_vulns="healthy")
    machine(a, "a-other-control", mfa_test="unhealthy")
    machine(a, "a-two-controls", vm_agent_installed="unhealthy", mfa_test="healthy")
    make_resource(a, name="a-unassessed")
    machine(b, "b-unhealthy", vm_agent_installed="unhealthy", machine_config_vulns="unhealthy")
    machine(b, "b-healthy", machine_config_vulns="healthy")
    machine(b, "b-na", "k8s_cluster", k8s_policy_addon="not_applicable")
    return a, b


@pytest.mark.parametrize("count_preview", [False, True])
def test_state_filters_agree_with_the_engine_on_a_mixed_estate(settings, count_preview: bool):
    settings.POSTURE_COUNT_PREVIEW = count_preview
    a, b = mixed_estate()
    for scope in (ESTATE, Scope((a.pk,), "A"), Scope((b.pk,), "B")):
        report = compute_score(scope)
        for control in report.controls:
            engine = {
                ResourceState.HEALTHY: control.healthy,
                ResourceState.UNHEALTHY: control.unhealthy,
                ResourceState.NOT_APPLICABLE: control.not_applicable,
            }
            listed = {
                state: filtered_resources(ResourceFilter(scope, control_id=control.id, state=state)).count()
                for state in STATES
            }
            assert listed == engine, (scope.label, control.name)
        counted = filtered_resources(ResourceFilter(scope, state=ResourceState.COUNTED)).count()
        assert counted == sum(sub.weight for sub in report.subscriptions)


def test_state_filters_pick_the_expected_machines():
    mixed_estate()
    control = rsc()

    def listed(state: str) -> set[str]:
        return {
            r.name for r in filtered_resources(ResourceFilter(ESTATE, control_id=control.pk, state=state))
        }

    assert listed(ResourceState.UNHEALTHY) == {"a-unhealthy", "a-two-controls", "b-unhealthy"}
    assert listed(ResourceState.HEALTHY) == {
        "a-healthy",
        "a-healthy-preview-bad",
        "a-na-and-healthy",
        "b-healthy",
    }
    assert listed(ResourceState.NOT_APPLICABLE) == {"a-na", "a-preview-only", "a-preview-mixed", "b-na"}


def test_list_page_counts_equal_the_dashboard_counts(user_client: Client):
    mixed_estate()
    control = rsc()
    for query in ("", "subscription=A&"):
        dashboard = user_client.get(f"/?{query}")
        score = next(row.score for row in dashboard.context["controls"] if row.score.id == control.pk)
        for state, number in (("healthy", score.healthy), ("unhealthy", score.unhealthy)):
            response = user_client.get(f"/resources/?{query}control={control.pk}&state={state}")
            assert response.context["page_obj"].paginator.count == number
        response = user_client.get(f"/resources/?{query}control={control.pk}&state=not_applicable")
        assert response.context["page_obj"].paginator.count == score.not_applicable


def test_anonymous_user_is_sent_to_the_login_page(client: Client):
    for url in ("/resources/", f"/resources/{make_resource().pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_list_describes_its_filter_and_links_resources(user_client: Client):
    mixed_estate()
    control = rsc()
    response = user_client.get(f"/resources/?subscription=B&control={control.pk}&state=unhealthy")
    html = response.content.decode()
    assert names(response) == ["b-unhealthy"]
    assert f'Unhealthy in <a href="/controls/{control.pk}/?subscription=B">{RSC}</a>' in html
    resource = Resource.objects.get(name="b-unhealthy")
    assert f'href="/resources/{resource.pk}/?subscription=B">b-unhealthy</a>' in html


def test_state_without_a_control_means_any_control(user_client: Client):
    mixed_estate()
    response = user_client.get("/resources/?state=unhealthy&subscription=A")
    assert names(response) == ["a-other-control", "a-two-controls", "a-unhealthy"]
    assert "in any control" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=k8s_cluster", ["a-preview-mixed", "a-preview-only", "b-na"]),
        ("os=unknown", ["a-preview-mixed", "a-preview-only", "b-na"]),
        ("os=windows", []),
        ("q=HEALTHY-pre", ["a-healthy-preview-bad"]),
        ("q=b-&kind=vm", ["b-healthy", "b-unhealthy"]),
        ("subscription=B&q=", ["b-healthy", "b-na", "b-unhealthy"]),
    ],
)
def test_kind_os_and_name_filters(user_client: Client, query: str, expected: list[str]):
    mixed_estate()
    response = user_client.get(f"/resources/?{query}")
    assert response.status_code == 200
    assert names(response) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("state=sideways", "Unknown state &#x27;sideways&#x27;"),
        ("control=abc", "Control must be a number"),
        ("control=999999", "There is no control 999999"),
        ("control=%C2%B2", "Control must be a number"),
        ("control=99999999999999999999999", "There is no control 99999999999999999999999"),
        ("kind=toaster", "Unknown kind"),
        ("os=beos", "Unknown OS"),
        ("q=a%00b", "A name cannot contain a NUL character"),
    ],
)
def test_a_bad_filter_is_a_400_with_a_message(user_client: Client, query: str, message: str):
    response = user_client.get(f"/resources/?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Invalid filter" in html
    assert message in html


@pytest.mark.parametrize("name", ["nowhere", "a%00b"])
def test_unknown_subscription_is_a_404_with_a_message(user_client: Client, name: str):
    response = user_client.get(f"/resources/?subscription={name}")
    assert response.status_code == 404
    assert "Unknown subscription" in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["a1", "a2", "b1"]),
        ("-name", ["b1", "a2", "a1"]),
        ("subscription", ["b1", "a1", "a2"]),
        ("-subscription", ["a2", "a1", "b1"]),
        ("os", ["a2", "a1", "b1"]),
        ("heartbeat", ["b1", "a1", "a2"]),
        ("-heartbeat", ["a1", "b1", "a2"]),
        ("made-up", ["a1", "a2", "b1"]),
    ],
)
def test_sorting_the_list(user_client: Client, sort: str, expected: list[str]):
    first, second = make_subscription("Z"), make_subscription("Y")
    make_resource(first, name="a1", last_heartbeat=datetime(2026, 1, 2, tzinfo=UTC))
    make_resource(first, name="a2", os="")
    make_resource(second, name="b1", os="windows", last_heartbeat=datetime(2026, 1, 1, tzinfo=UTC))
    response = user_client.get(f"/resources/?sort={sort}")
    assert response.status_code == 200
    assert names(response) == expected


def many_machines(count: int, subscription: Subscription) -> None:
    for i in range(count):
        resource = make_resource(subscription, name=f"vm-{i:03d}", resource_id=f"/{subscription.name}/{i}")
        make_assessment(resource, "vm-agent-installed", "unhealthy")


def test_list_pages_by_fifty_and_page_links_keep_the_filters(user_client: Client):
    many_machines(75, make_subscription("Production"))
    control = rsc()
    query = f"subscription=Production&control={control.pk}&state=unhealthy&sort=-name"
    response = user_client.get(f"/resources/?{query}")
    assert len(names(response)) == 50
    html = response.content.decode()
    next_link = next(href for href in links(html) if "page=2" in href)
    assert parse_qs(urlsplit(next_link).query) == {**parse_qs(query), "page": ["2"]}
    second = user_client.get(f"/resources/{next_link}")
    assert names(second)[0] == "vm-024"
    assert len(names(second)) == 25


@pytest.mark.parametrize(("page", "shown"), [("3", 2), ("9999", 2), ("x", 1)])
def test_a_page_out_of_range_shows_the_last_page(user_client: Client, page: str, shown: int):
    many_machines(75, make_subscription("Production"))
    response = user_client.get(f"/resources/?page={page}")
    assert response.status_code == 200
    assert response.context["page_obj"].number == shown


def test_scope_selector_keeps_the_filters_but_not_the_page(user_client: Client):
    make_subscription("Production")
    html = user_client.get(
        "/resources/?state=healthy&kind=vm&page=2&subscription=Production"
    ).content.decode()
    scope_form = re.search(r'<form class="scope".*?</form>', html, re.S)
    assert scope_form is not None
    hidden = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', scope_form.group(0))
    assert hidden == [("state", "healthy"), ("kind", "vm")]


def test_list_queries_do_not_grow_with_the_rows_shown(user_client: Client):
    many_machines(3, make_subscription("Production"))
    control = rsc()

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            url = f"/resources/?control={control.pk}&state=unhealthy"
            assert user_client.get(url).status_code == 200
        return len(context.captured_queries)

    before = queries()
    many_machines(40, make_subscription("Staging"))
    assert queries() == before


def scale_set() -> tuple[Resource, Resource]:
    sub = make_subscription("Production")
    vmss = make_resource(sub, name="api", kind="vmss", resource_group="rg-api", tags={"owner": "platform"})
    instance = make_resource(
        sub,
        name="api_0",
        kind="vmss_instance",
        resource_group="rg-api",
        parent=vmss,
        agent_state="installed",
        agent_version="1.19.0",
        workspace_id="ws-main",
        last_heartbeat=datetime(2026, 11, 20, 5, 55, tzinfo=UTC),
        power_state="stopped",
    )
    return vmss, instance


def test_resource_page_shows_attributes_and_agent(user_client: Client):
    vmss, instance = scale_set()
    html = user_client.get(f"/resources/{instance.pk}/").content.decode()
    for text in (
        instance.resource_id,
        "Scale set instance",
        "Linux",
        "rg-api",
        "Stopped",
        "Installed",
        "1.19.0",
        "ws-main",
        "2026-11-20 05:55",
    ):
        assert text in html, text
    assert f'href="/resources/{vmss.pk}/">api</a>' in html
    assert 'href="/?subscription=Production">Production</a>' in html
    # An agent that reports no error shows none (its choice's label was "None").
    assert "Reported error" not in html


def test_scale_set_page_lists_its_instances_and_tags(user_client: Client):
    vmss, instance = scale_set()
    html = user_client.get(f"/resources/{vmss.pk}/?subscription=Production").content.decode()
    assert f'href="/resources/{instance.pk}/?subscription=Production">api_0</a>' in html
    assert '<span class="tag">owner=platform</span>' in html


def test_resource_page_lists_all_assessments_with_reason_and_links(user_client: Client):
    resource = make_resource(make_subscription("Production"), name="web-1")
    make_assessment(resource, "vm-agent-installed", "healthy")
    make_assessment(resource, "machine-config-vulns", "unhealthy", reason="12 failed rules (2 high severity)")
    make_assessment(resource, "agent-health-resolved", "not_applicable", cause="OffByPolicy")
    response = user_client.get(f"/resources/{resource.pk}/?subscription=Production")
    html = response.content.decode()
    statuses = [row.assessment.status for row in response.context["assessments"]]
    assert statuses == ["unhealthy", "healthy", "not_applicable"]
    cells = re.findall(r'<td class="reason">(.*?)</td>', html)
    assert cells == ["12 failed rules (2 high severity)", "—", "OffByPolicy"]
    display = Recommendation.objects.get(key="machine-config-vulns").display_name
    link = "/recommendations/machine-config-vulns/?subscription=Production&amp;tab=unhealthy"
    assert f'href="{link}">{display}</a>' in html
    assert html.count(">test</td>") == 3


def test_resource_outside_the_scope_says_so(user_client: Client):
    make_subscription("Staging")
    resource = make_resource(make_subscription("Production"))
    response = user_client.get(f"/resources/{resource.pk}/?subscription=Staging")
    assert response.status_code == 200
    assert "outside the selected scope" in response.content.decode()


def test_unknown_resource_is_a_404(user_client: Client):
    assert user_client.get("/resources/999999/").status_code == 404
    assert user_client.get("/resources/99999999999999999999999/").status_code == 404


def test_resource_page_queries_do_not_grow_with_instances(user_client: Client):
    vmss, _ = scale_set()

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert user_client.get(f"/resources/{vmss.pk}/").status_code == 200
        return len(context.captured_queries)

    before = queries()
    for i in range(1, 20):
        make_resource(vmss.subscription, name=f"api_{i}", kind="vmss_instance", parent=vmss)
    assert queries() == before


def test_every_link_of_the_list_and_resource_pages_answers_200(user_client: Client):
    mixed_estate()
    vmss, instance = scale_set()
    for page in ("/resources/?subscription=A", f"/resources/{instance.pk}/", f"/resources/{vmss.pk}/"):
        for href in links(user_client.get(page).content.decode()):
            if href.startswith("?"):
                href = urlsplit(page).path + href
            if href.startswith(("/static/", "/admin/", "/accounts/")):
                continue
            assert user_client.get(href).status_code == 200, href


def test_login_page_logs_in_through_the_form_and_logout_is_a_post(client: Client):
    make_user("alice", password="a-long-enough-password")
    page = client.get("/accounts/login/?next=/resources/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<input type="hidden" name="next" value="/resources/">' in html
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "a-long-enough-password", "next": "/resources/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/resources/"
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_a_wrong_password_shows_an_error(client: Client):
    make_user("alice", password="a-long-enough-password")
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
