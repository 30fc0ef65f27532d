"""A recommendation's affected resources with the governance of their items: the rows of its page's
tabs and of their CSV export.

An assessment's item is the Assignment of the assessment itself (not one of its failed rules), and only
an item the reader may see counts (governance.scoping): on a machine two towers share, another tower's
item is not there, and the row reads as unassigned.
"""

from collections.abc import Generator
from datetime import UTC
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import CharField, DateField, IntegerField, OuterRef, QuerySet, Subquery

from audit import trail
from governance.exports import csv_stream, neutralise_cell
from governance.scoping import Reader, visible_assignments
from recommendations.models import Assessment, Recommendation

COLUMNS = (
    "resource name",
    "resource id",
    "subscription",
    "resource group",
    "kind",
    "OS",
    "status",
    "reason",
    "status changed",
    "team",
    "owner",
    "due date",
    "item status",
    "link",
)


def with_items(assessments: QuerySet[Assessment], reader: Reader) -> QuerySet[Assessment]:
    """Assessments annotated with their item the reader may see: item_pk, item_team, item_owner,
    item_due and item_status (None without one)."""
    items = visible_assignments(reader).filter(assessment_id=OuterRef("pk"), finding__isnull=True).order_by()

    def column(name: str, output: Any) -> Subquery:
        return Subquery(items.values(name)[:1], output_field=output)

    return assessments.annotate(
        item_pk=column("pk", IntegerField()),
        item_team=column("team__name", CharField()),
        item_owner=column("owner", CharField()),
        item_due=column("due_date", DateField()),
        item_status=column("status", CharField()),
    )


def affected_rows(assessments: QuerySet[Assessment], base_url: str) -> Generator[list[Any], None, None]:
    """Each assessment (annotated by with_items and recommendations.selectors' shown_reason) in COLUMNS
    order, text neutralised."""
    base = base_url.rstrip("/")
    for assessment in assessments.iterator(chunk_size=2000):
        resource = assessment.resource
        changed = assessment.status_changed
        yield [
            neutralise_cell(resource.name),
            neutralise_cell(resource.resource_id),
            neutralise_cell(resource.subscription.name),
            neutralise_cell(resource.resource_group),
            resource.get_kind_display(),
            resource.get_os_display(),
            assessment.get_status_display(),
            neutralise_cell(getattr(assessment, "shown_reason", assessment.reason)),
            # In UTC, written as the findings export writes its times.
            f"{changed.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}" if changed else "",
            neutralise_cell(getattr(assessment, "item_team", None) or ""),
            neutralise_cell(getattr(assessment, "item_owner", None) or ""),
            due.isoformat() if (due := getattr(assessment, "item_due", None)) else "",
            getattr(assessment, "item_status", None) or "",
            f"{base}/resources/{resource.pk}/",
        ]


def affected_csv_chunks(
    assessments: QuerySet[Assessment],
    *,
    recommendation: Recommendation,
    actor: User | AnonymousUser,
    filters: dict[str, str],
    base_url: str,
    ip: str | None = None,
) -> Generator[bytes, None, None]:
    """The CSV (RFC 4180, UTF-8) of a recommendation's affected resources, streamed in chunks; the export
    is in the audit log with its filters and row count when it ends (or is interrupted)."""
    rows = 0

    def count_row() -> None:
        nonlocal rows
        rows += 1

    complete = False
    try:
        yield from csv_stream(COLUMNS, affected_rows(assessments, base_url), count_row)
        complete = True
    finally:
        trail.record(
            actor=actor,
            action=trail.EXPORT,
            obj=recommendation,
            summary=f"exported {rows} resources of {recommendation.key} as CSV"
            + ("" if complete else " (interrupted)"),
            after={
                "format": "csv",
                "recommendation": recommendation.key,
                "filters": filters,
                "rows": rows,
                "complete": complete,
            },
            ip=ip,
        )
