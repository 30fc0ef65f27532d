"""In Chromium, as an admin, a security analyst and a tower lead, at 1,400 px and at 390 px (a phone):
every page the user may open is checked by axe-core (npm's `axe-core`, installed by bin/setup from
package.json into node_modules, never copied into git) with no serious or critical violation, and no
page scrolls sideways at 390 px (wide tables scroll inside their card)."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from governance.models import Assignment, Team
from governance.roles import Role
from recommendations.models import Rule
from scoring.models import Control
from tests.factories import make_user
from web.access import ACCESS, allows

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "accessibility-password-1"
WIDTHS = (1400, 390)
SCREENSHOTS = Path("/tmp/posture-a11y")


@dataclass(frozen=True)
class Walk:
    url_name: str
    path: str


def pages_for(user: User) -> list[Walk]:
    """Every page (GET) of the URL map the user may open, with ids of objects the user sees."""
    lead_team = Team.objects.filter(memberships__user=user).first()
    items = Assignment.objects.all() if lead_team is None else Assignment.objects.filter(team=lead_team)
    item = items.order_by("pk").first()
    assert item is not None
    resource = item.assessment.resource
    rule = Rule.objects.filter(findings__resource=resource).order_by("pk").first() or Rule.objects.first()
    assert rule is not None
    control = Control.objects.get(name="Remediate security configurations")
    walks = [
        Walk("dashboard", "/"),
        Walk("control", f"/controls/{control.pk}/"),
        Walk("recommendation", "/recommendations/machine-config-vulns/"),
        Walk("recommendation", "/recommendations/machine-config-vulns/?tab=rules"),
        Walk("recommendation", "/recommendations/vm-agent-installed/"),
        Walk("os-config", "/os-configuration/"),
        Walk("rule", f"/rules/{rule.pk}/"),
        Walk("baseline", "/baseline/"),
        Walk("resource-list", "/resources/?state=unhealthy"),
        Walk("resource", f"/resources/{resource.pk}/"),
        Walk("subscriptions", "/subscriptions/"),
        Walk("imports", "/imports/"),
        Walk("my-items", "/my-items/"),
        Walk("item", f"/items/{item.pk}/"),
        Walk("governance-report", "/governance/report/"),
        Walk("exemptions", "/exemptions/"),
        Walk("exemption-create", "/exemptions/new/?recommendation=machine-config-vulns"),
        Walk("governance-rules", "/governance/rules/"),
        Walk("people", "/people/"),
        Walk("audit-log", "/audit/"),
        Walk("api-docs", "/api/docs/"),
    ]
    return [walk for walk in walks if allows(ACCESS[walk.url_name], user)]


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def serious_violations(page: Page) -> list[str]:
    # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') does not apply.
    page.evaluate(AXE.read_text())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:3]} {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def demo_users() -> dict[str, User]:
    call_command("load_demo")
    linux = Team.objects.get(name="Linux servers")
    return {
        "admin": make_user("admin", role=Role.ADMIN, password=PASSWORD),
        "analyst": make_user("analyst", role=Role.ANALYST, password=PASSWORD),
        "lead": make_user("lead", role=Role.LEAD, team=linux, password=PASSWORD),
    }


@pytest.mark.browser
@pytest.mark.parametrize("who", ["admin", "analyst", "lead"])
def test_every_page_passes_axe_and_fits_a_phone(
    live_server: LiveServer, browser_page: Page, demo_users: dict[str, User], who: str
) -> None:
    assert AXE.exists(), f"{AXE} is missing: run bin/setup (npm ci installs axe-core)"
    user = demo_users[who]
    walks = pages_for(user)
    # Every role opens the pages of its day: never a walk of a handful.
    assert len(walks) >= {"admin": 21, "analyst": 19, "lead": 13}[who]
    page = browser_page
    log_in(page, live_server.url, user.username)
    SCREENSHOTS.mkdir(exist_ok=True)
    problems: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for walk in walks:
            response = page.goto(live_server.url + walk.path)
            assert response is not None
            assert response.status == 200, (walk.path, response.status)
            page.wait_for_load_state("load")
            problems += [f"{width}px {walk.path}: {v}" for v in serious_violations(page)]
            if width < 600:
                scroll, client = page.evaluate(
                    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                )
                if scroll > client:
                    problems.append(f"{width}px {walk.path}: the page is {scroll}px wide, scrolls sideways")
            slug = walk.path.strip("/").replace("/", "_").replace("?", "_") or "dashboard"
            page.screenshot(path=str(SCREENSHOTS / f"{who}-{width}-{slug}.png"), full_page=True)
    # A page the role may not open answers with a page of the site too (403), as accessible.
    if not allows(ACCESS["people"], user):
        response = page.goto(f"{live_server.url}/people/")
        assert response is not None
        assert response.status == 403
        problems += [f"403 /people/: {v}" for v in serious_violations(page)]
    assert not problems, "\n".join(problems)


@pytest.mark.browser
def test_skip_link_and_focus_ring(
    live_server: LiveServer, browser_page: Page, demo_users: dict[str, User]
) -> None:
    page = browser_page
    log_in(page, live_server.url, "analyst")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("element => element === document.activeElement")
    assert skip.bounding_box()["y"] >= 0  # type: ignore[index]
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    # The next Tab lands in the page, with a ring at least 2 px wide.
    page.keyboard.press("Tab")
    outline = page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)")
    assert outline >= 2
    assert page.evaluate("document.activeElement.closest('main') !== null")
    # The API's documentation is a link away, its descriptions rendered (no Markdown backticks left).
    page.get_by_role("link", name="API", exact=True).click()
    assert page.locator("main code").count() > 10
    assert "`" not in page.locator("main").inner_text()


@pytest.mark.browser
def test_the_login_page_passes_axe_and_fits_a_phone(
    live_server: LiveServer, browser_page: Page, db: None
) -> None:
    page = browser_page
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/accounts/login/")
        assert serious_violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
