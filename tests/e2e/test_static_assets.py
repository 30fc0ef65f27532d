"""Chart.js from node_modules is served at /static/vendor/chart.js/ and runs in Chromium."""

import json
from http.client import HTTPConnection
from urllib.parse import urlsplit

from django.conf import settings
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

CHART_JS_PATH = "/static/vendor/chart.js/chart.umd.js"


def installed_chart_js_version() -> str:
    package = settings.BASE_DIR / "node_modules" / "chart.js" / "package.json"
    return str(json.loads(package.read_text())["version"])


def test_live_server_serves_chart_js(live_server: LiveServer) -> None:
    address = urlsplit(live_server.url)
    assert address.hostname is not None
    connection = HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request("GET", CHART_JS_PATH)
    response = connection.getresponse()
    assert response.status == 200
    assert b"Chart" in response.read()


def test_chart_js_loads_in_chromium(live_server: LiveServer, browser_page: Page) -> None:
    browser_page.set_content(f'<script src="{live_server.url}{CHART_JS_PATH}"></script>')
    assert browser_page.evaluate("typeof Chart") == "function"
    assert browser_page.evaluate("Chart.version") == installed_chart_js_version()
