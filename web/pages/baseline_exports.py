"""The Baseline page's filtered rule list as a checklist download, CSV or XLSX."""

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from audit import trail
from governance.checklists import SUBJECT, checklist_csv_chunks, checklist_xlsx
from governance.exports import Export
from posture.errors import UserError
from recommendations.models import Rule
from recommendations.rule_selectors import BASELINE_COLUMNS, checklist_rules, rule_types
from recommendations.selectors import valid_sort
from web.pages.rendering import BadFilter, render_user_error, scope_of
from web.pages.rules import read_rule_filter

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _start(request: HttpRequest, file_format: str) -> tuple[Export, QuerySet[Rule], str]:
    """The export, the rules the page's filters and sort select, and the file's name."""
    filters, _ = read_rule_filter(request, scope_of(request), rule_types())
    sort = valid_sort(request.GET.get("sort"), BASELINE_COLUMNS, default="key")
    export = Export(
        actor=request.user,
        filters={name: str(value) for name, value in request.GET.items() if value},
        format=file_format,
        base_url=settings.POSTURE_PUBLIC_URL or request.build_absolute_uri("/"),
        ip=trail.client_ip(request),
        subject=SUBJECT,
    )
    return export, checklist_rules(filters, sort), f"baseline-{timezone.now():%Y%m%d-%H%M}.{file_format}"


# Not @scoped (its views answer HttpResponse only): the scope is read here, an unknown one a 404 the same.


@require_safe
def baseline_csv(request: HttpRequest) -> HttpResponseBase:
    try:
        export, rules, filename = _start(request, "csv")
    except UserError as error:
        return render_user_error(request, error, 400 if isinstance(error, BadFilter) else 404)
    response = StreamingHttpResponse(
        checklist_csv_chunks(export, rules), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_safe
def baseline_xlsx(request: HttpRequest) -> HttpResponseBase:
    try:
        export, rules, filename = _start(request, "xlsx")
    except UserError as error:
        return render_user_error(request, error, 400 if isinstance(error, BadFilter) else 404)
    try:
        target = checklist_xlsx(export, rules)
    except UserError as error:
        return render_user_error(request, error, 400)
    return FileResponse(target, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
