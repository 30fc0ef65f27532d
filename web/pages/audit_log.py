"""The audit log page (admins and analysts): every recorded event, newest first, filterable."""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Page
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_safe

from audit import trail
from audit.models import AuditEvent
from posture.errors import UserError
from posture.scope import Scope
from web.pages.rendering import paginate, render_page, render_user_error, scoped


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    since: date | None = None
    until: date | None = None


def _day(raw: str, what: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = parse_date(raw)
    except ValueError:
        day = None
    if day is None:
        raise UserError(f"{what} {raw!r} is not a date (YYYY-MM-DD)")
    return day


def audit_filter(params: Any) -> AuditFilter:
    """The filter of the query string; raises a UserError naming a bad value."""
    action = params.get("action", "").strip()
    if action and action not in trail.ACTIONS:
        raise UserError(f"unknown action {action!r}: use one of {', '.join(trail.ACTIONS)}")
    found = AuditFilter(
        action=action,
        actor=params.get("actor", "").strip(),
        object_type=params.get("object_type", "").strip(),
        object_id=params.get("object_id", "").strip(),
        since=_day(params.get("since", ""), "the start date"),
        until=_day(params.get("until", ""), "the end date"),
    )
    if "\x00" in found.actor + found.object_type + found.object_id:
        raise UserError("a filter cannot contain a NUL character")
    if found.since and found.until and found.since > found.until:
        raise UserError("the start date is after the end date")
    return found


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_events(chosen: AuditFilter) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor").order_by("-at", "-pk")
    if chosen.action:
        events = events.filter(action=chosen.action)
    if chosen.actor:
        events = events.filter(actor_name__iexact=chosen.actor)
    if chosen.object_type:
        events = events.filter(object_type=chosen.object_type)
    if chosen.object_id:
        events = events.filter(object_id=chosen.object_id)
    if chosen.since:
        events = events.filter(at__gte=_midnight(chosen.since))
    if chosen.until:
        events = events.filter(at__lt=_midnight(chosen.until + timedelta(days=1)))
    return events


def compact(value: Any) -> str:
    """Before and after as one line of JSON (escaped by the template like any text)."""
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def rows(page: Page[AuditEvent]) -> list[tuple[AuditEvent, str, str]]:
    return [(event, compact(event.before), compact(event.after)) for event in page]


@require_safe
@scoped
def audit_log(request: HttpRequest, scope: Scope) -> HttpResponse:
    try:
        chosen = audit_filter(request.GET)
    except UserError as error:
        return render_user_error(request, error, 400)
    page_obj = paginate(request, filtered_events(chosen))
    context = {
        "nav": "governance-report",
        "filters": chosen,
        "actions": trail.ACTIONS,
        "object_types": AuditEvent.objects.order_by("object_type")
        .exclude(object_type="")
        .values_list("object_type", flat=True)
        .distinct(),
        "page_obj": page_obj,
        "rows": rows(page_obj),
    }
    return render_page(request, "governance/audit_log.html", context, scope)
