"""In Chromium: the Content Security Policy refuses nothing the pages need. Every kind of page (with
its charts, scripts and forms), the API docs and the admin site are opened as an admin, and the
console must hold no CSP violation (Chromium reports each one there) and the pages no script error."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import ConsoleMessage, Page, expect
from pytest_django.live_server_helper import LiveServer

from governance.roles import Role
from posture.models import ImportJob, Resource
from recommendations.models import Assessment, AssessmentStatus, Finding, Rule
from tests.factories import make_user

PASSWORD = "csp-browser-password-1"


def pages_to_visit() -> list[str]:
    # A machine and a rule with open findings: their pages load the quick-fix script.
    machine = Finding.objects.filter(state="open").values_list("resource_id", flat=True).first()
    rule = Finding.objects.filter(state="open").values_list("rule_id", flat=True).first()
    recommendation = (
        Assessment.objects.filter(status=AssessmentStatus.UNHEALTHY)
        .values_list("recommendation__key", flat=True)
        .first()
    )
    assert machine is not None
    assert rule is not None
    assert recommendation is not None
    paths = [
        reverse("dashboard"),
        reverse("resource-list"),
        reverse("resource", args=[machine]),
        reverse("os-config"),
        reverse("rule", args=[rule]),
        reverse("baseline"),
        reverse("recommendation", args=[recommendation]),
        reverse("subscriptions"),
        reverse("imports"),
        reverse("my-items"),
        reverse("governance-report"),
        reverse("exemptions"),
        reverse("governance-rules"),
        reverse("audit-log"),
        reverse("people"),
        reverse("api-docs"),
        "/admin/",
        "/admin/audit/auditevent/",
        "/admin/posture/resource/",
        f"/admin/posture/resource/{machine}/change/",
        "/admin/axes/accessattempt/",
    ]
    job = ImportJob.objects.first()
    if job is not None:
        paths.append(reverse("import", args=[job.pk]))
    return paths


@pytest.mark.browser
def test_no_page_breaks_the_content_security_policy(live_server: LiveServer, browser_page: Page):
    call_command("load_demo")
    make_user("boss", password=PASSWORD, role=Role.ADMIN)
    assert Resource.objects.exists()
    assert Rule.objects.exists()
    page = browser_page
    messages: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        # (A missing favicon is an error too, and no concern of the policy's.)
        if "Content Security Policy" in message.text:
            messages.append(f"{page.url}: {message.text}")

    page.on("console", keep)
    page.on("pageerror", lambda error: messages.append(f"{page.url}: {error}"))

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Chart.js (a static file) drew the doughnut: scripts from 'self' run under the policy.
    page.wait_for_function(
        "() => typeof Chart !== 'undefined' && Chart.getChart(document.getElementById('score-chart'))"
    )
    # Styles come from posture.css, not style attributes: the chart boxes keep their height.
    assert page.locator(".chart-box").first.evaluate("e => getComputedStyle(e).height") != "0px"

    for path in pages_to_visit():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None, path
        assert response.status == 200, path
        assert "frame-ancestors 'none'" in (response.header_value("content-security-policy") or "")
        page.wait_for_load_state("load")

    # The scope selector's script submits on change (an inline onchange would be refused).
    page.goto(f"{live_server.url}/")
    page.get_by_label("Scope").select_option("Staging")
    expect(page).to_have_url(f"{live_server.url}/?subscription=Staging")

    assert messages == []


@pytest.mark.browser
def test_an_inline_script_is_refused_and_reported(live_server: LiveServer, browser_page: Page):
    # The check above can fail: a script injected into a page is blocked, and Chromium says so.
    make_user("boss", password=PASSWORD, role=Role.ADMIN)
    page = browser_page
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.body.appendChild(s); }"
    )
    assert page.evaluate("() => window.injected") is None
    assert any("Content Security Policy" in text for text in messages)
