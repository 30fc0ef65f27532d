"""The OpenAPI schema validates without a warning, documents every route of the API with its filters,
needs a login, and the self-hosted docs page lists every operation."""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from tests.api.conftest import Estate
from tests.governance.test_access import project_routes
from web.api.docs import render_description

pytestmark = pytest.mark.django_db


def test_the_schema_validates_and_warns_of_nothing(tmp_path: object) -> None:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    assert '"openapi": "3' in out.getvalue()


def test_every_api_route_is_in_the_schema() -> None:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    routes = {
        "/" + route.pattern.replace("<int:pk>", "{id}").replace("<slug:key>", "{key}")
        for route in project_routes()
        if route.pattern.startswith("api/v1/")
    }
    assert routes == set(paths)
    assert "/api/v1/resources/{id}/" in routes


def test_lists_document_their_filters_ordering_and_cursor() -> None:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    names = {p["name"] for p in paths["/api/v1/resources/"]["get"]["parameters"]}
    assert {
        "cursor",
        "page_size",
        "ordering",
        "subscription",
        "kind",
        "os",
        "state",
        "control",
        "name",
    } <= names
    ordering = next(p for p in paths["/api/v1/resources/"]["get"]["parameters"] if p["name"] == "ordering")
    assert "name" in ordering["description"]
    finding_names = {p["name"] for p in paths["/api/v1/findings/"]["get"]["parameters"]}
    assert {"state", "severity", "rule", "resource"} <= finding_names


def test_the_schema_and_docs_need_a_login(db: None) -> None:
    assert Client().get(reverse("api-schema")).status_code == 401
    assert Client().get(reverse("api-docs")).status_code == 401


def test_the_docs_page_lists_every_operation_offline(estate: Estate, api: Client) -> None:
    response = api.get(reverse("api-docs"))
    assert response.status_code == 200
    page = response.content.decode()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method in item:
            assert f'id="{method}-' in page
        assert f"<code>{path}</code>" in page
    assert '<script src="http' not in page
    assert "cdn" not in page.lower()
    assert reverse("api-schema") in page


def test_the_schema_is_served_as_yaml_and_json(estate: Estate, api: Client) -> None:
    assert api.get(reverse("api-schema")).content.startswith(b"openapi: 3")
    assert api.get(reverse("api-schema"), {"format": "json"}).json()["info"]["title"] == "Posture API"


def test_docs_render_the_schemas_markdown_escaped() -> None:
    rendered = render_description(
        "Lists:\n\n* `linux` - Linux\n* `` - Unknown\n\n**Bold** <script>x</script>"
    )
    assert rendered == (
        "<p>Lists:</p><ul><li><code>linux</code> - Linux</li>"
        "<li><code>&quot;&quot;</code> - Unknown</li></ul>"
        "<p><strong>Bold</strong> &lt;script&gt;x&lt;/script&gt;</p>"
    )


def test_docs_page_describes_each_operations_responses(estate: Estate, api: Client) -> None:
    html = api.get(reverse("api-docs")).content.decode()
    assert '<th scope="col">Responses</th>' in html
    assert "<code>text/csv</code>" in html  # the findings export's 200
    assert "`" not in html
