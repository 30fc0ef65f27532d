"""The API's schema (OpenAPI 3, drf-spectacular) and a self-hosted page listing its operations.

drf-spectacular's Swagger UI and Redoc load their JavaScript from a CDN (its sidecar package is not
installed), so the page is rendered on the server from the generated schema: it works offline.
"""

from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import StaticHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

METHODS = ("get", "post", "put", "patch", "delete")


class SchemaView(SpectacularAPIView):
    """The schema, YAML by default, `?format=json` for JSON."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    description: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    parameters: list[Parameter] = field(default_factory=list)
    body: list[str] = field(default_factory=list)


def operations(schema: dict[str, Any]) -> list[Operation]:
    """Every operation of the schema, in the schema's path order."""
    found = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [
                Parameter(
                    name=p["name"],
                    location=p["in"],
                    required=bool(p.get("required")),
                    description=str(p.get("description", "")),
                )
                for p in operation.get("parameters", [])
            ]
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=str(operation.get("summary") or operation.get("description") or ""),
                    parameters=parameters,
                    body=sorted(operation.get("requestBody", {}).get("content", {})),
                )
            )
    return found


class DocsView(APIView):
    """The operations of the API: path, method, summary, parameters; a link to the raw schema."""

    renderer_classes = [StaticHTMLRenderer]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        schema = SchemaGenerator().get_schema(request=None, public=True)
        context = {"info": schema["info"], "operations": operations(schema)}
        return Response(render_to_string("posture/api_docs.html", context, request=request._request))
