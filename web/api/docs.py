"""The API's schema (OpenAPI 3, drf-spectacular) and a self-hosted page listing its operations.

drf-spectacular's Swagger UI and Redoc load their JavaScript from a CDN (its sidecar package is not
installed), so the page is rendered on the server from the generated schema: it works offline.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import StaticHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

METHODS = ("get", "post", "put", "patch", "delete")
INLINE = (
    # An empty value (drf-spectacular's enum lists write `` for "") shows as "".
    (re.compile(r"`([^`]*)`"), lambda match: f"<code>{match.group(1) or '&quot;&quot;'}</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), lambda match: f"<strong>{match.group(1)}</strong>"),
)


def render_description(text: str) -> SafeString:
    """The Markdown of the schema's descriptions (docstrings and help texts: paragraphs, `- ` lists,
    `code` and **bold**) as HTML, escaped first: the subset the project writes, so no Markdown library."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        html_lines = []
        for line in lines:
            line = escape(line)
            for pattern, replacement in INLINE:
                line = pattern.sub(replacement, line)
            html_lines.append(line)
        if all(line.startswith(("- ", "* ")) for line in lines):
            items = "".join(f"<li>{line[2:]}</li>" for line in html_lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{' '.join(html_lines)}</p>")
    return mark_safe("".join(blocks))  # noqa: S308 - every piece of text was escaped above


class SchemaView(SpectacularAPIView):
    """The schema, YAML by default, `?format=json` for JSON."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    description: SafeString


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: SafeString
    parameters: list[Parameter] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    # (status code, what it means) of each documented response.
    responses: list[tuple[str, SafeString]] = field(default_factory=list)


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
                    description=render_description(str(p.get("description", ""))),
                )
                for p in operation.get("parameters", [])
            ]
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=render_description(
                        str(operation.get("summary") or operation.get("description") or "")
                    ),
                    parameters=parameters,
                    body=sorted(operation.get("requestBody", {}).get("content", {})),
                    responses=[
                        (str(code), render_description(_response_text(code, response)))
                        for code, response in operation.get("responses", {}).items()
                    ],
                )
            )
    return found


def _response_text(code: Any, response: dict[str, Any]) -> str:
    """A response's description and media types; drf-spectacular writes "" for a plain 200."""
    description = str(response.get("description") or "")
    types = ", ".join(f"`{media}`" for media in response.get("content", {}))
    if not description:
        description = "Success" if str(code).startswith("2") else ""
    return f"{description} ({types})" if types else description


class DocsView(APIView):
    """The operations of the API: path, method, summary, parameters; a link to the raw schema."""

    renderer_classes = [StaticHTMLRenderer]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        schema = SchemaGenerator().get_schema(request=None, public=True)
        context = {"nav": "api", "info": schema["info"], "operations": operations(schema)}
        return Response(render_to_string("posture/api_docs.html", context, request=request._request))
