"""The findings exports over HTTP: GET /api/v1/findings/export.csv and export.xlsx, with the filters of
governance.findings as query parameters. REST framework views, so that a session (the UI's links) or an
API token authenticates and the access table (RouteAccess) decides; a tower's members get their tower's
findings only."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.trail import client_ip
from governance.exports import Export, csv_chunks, xlsx_file
from governance.findings import FindingFilterSet, findings_for
from posture.errors import UnknownSubscription, UserError

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTER_PARAMETERS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=str(field.extra.get("help_text", "")))
    for name, field in FindingFilterSet.base_filters.items()
]
BOM_PARAMETER = OpenApiParameter("bom", OpenApiTypes.BOOL, description="start with a UTF-8 byte order mark")


class AnyAccept(BaseContentNegotiation):
    """A file download answers whatever the client accepts (errors come as JSON)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)


class FindingExport(APIView):
    content_negotiation_class = AnyAccept
    format = ""

    def _start(self, request: Request) -> tuple[Export, Any]:
        try:
            findings, used = findings_for(request.user, request.query_params)
            # The filters are applied when the queryset is read: a bad value must fail here, not mid-file.
            findings.exists()
        except UnknownSubscription as error:
            raise NotFound(error.message) from None
        except UserError as error:
            raise ValidationError({"detail": error.message}) from None
        base_url = settings.POSTURE_PUBLIC_URL or request.build_absolute_uri("/")
        export = Export(
            actor=request.user, filters=used, format=self.format, base_url=base_url, ip=client_ip(request)
        )
        return export, findings

    def filename(self) -> str:
        return f"findings-{timezone.now():%Y%m%d-%H%M}.{self.format}"


class FindingCsv(FindingExport):
    format = "csv"

    @extend_schema(
        parameters=[*FILTER_PARAMETERS, BOM_PARAMETER],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="the findings")},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """The selected findings as CSV, streamed (no row limit); default: the critical findings (open,
        critical or high)."""
        export, findings = self._start(request)
        bom = request.query_params.get("bom", "") in ("1", "true", "yes", "on")
        response = StreamingHttpResponse(
            csv_chunks(export, findings, bom=bom), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{self.filename()}"'
        return response


class FindingXlsx(FindingExport):
    format = "xlsx"

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="the findings")},
    )
    def get(self, request: Request) -> FileResponse:
        """The selected findings as an XLSX workbook, up to POSTURE_XLSX_MAX_ROWS rows (else a 400)."""
        export, findings = self._start(request)
        try:
            target = xlsx_file(export, findings)
        except UserError as error:
            raise ValidationError({"detail": error.message}) from None
        return FileResponse(target, as_attachment=True, filename=self.filename(), content_type=XLSX_TYPE)
