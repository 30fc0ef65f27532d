"""Exemption requests with approval: the one way a tower defers its items.

A tower's lead or member (or an analyst) asks for one or several of the items they may act on, as
Waiver, Mitigated or Risk accepted, with a justification and the last day it holds. An analyst or an
admin other than the requester approves or rejects it. Approved, a Waiver or Mitigated request exempts
each item's recommendation on its resource (governance/exemptions.py: Not applicable, out of the score,
until the expiry); a Risk accepted request sets its items to Risk accepted. A week before the expiry the
items' owners and their teams' leads are told; on expiry everything comes back (beat, hourly).

Every call checks who asks first; a tower's items are the only ones a tower can name (the pages give
another tower's item the answer of a missing one).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit import trail
from governance.assignments import NotAllowed, can_act_on, set_decided_status
from governance.exemptions import create_exemption, end_exemption
from governance.models import (
    Assignment,
    AssignmentStatus,
    ExemptionRequest,
    RequestCategory,
    RequestState,
)
from governance.notifications import notify_decided, notify_expiring
from governance.roles import TOWER_ROLES, Role, role_of, teams_of
from posture.errors import UserError

Person = User | AnonymousUser
# An exemption is a decision to revisit: at most a year ahead.
LONGEST = timedelta(days=366)
WARN_BEFORE = timedelta(days=7)
REQUESTERS = (Role.ADMIN, Role.ANALYST, Role.LEAD, Role.MEMBER)
APPROVERS = (Role.ADMIN, Role.ANALYST)
OPEN_STATUSES = (AssignmentStatus.OPEN, AssignmentStatus.IN_PROGRESS)
# Requests whose decision still stands: a pending one, or an approved one not expired yet.
STANDING = Q(state=RequestState.PENDING) | Q(state=RequestState.APPROVED, ended_at__isnull=True)
REQUEST_REFUSAL = "your role cannot request exemptions"
DECISION_REFUSAL = "only an analyst or an admin decides exemption requests"
OWN_REFUSAL = "you cannot decide your own request: another analyst or admin decides it"


def end_of(day: date) -> datetime:
    """The moment an exemption holding through `day` ends (the day's last second, server time)."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def visible_requests(user: Person) -> QuerySet[ExemptionRequest]:
    """The requests a user may see: a tower's lead or member those naming the towers' items, analysts,
    admins and viewers all of them, anybody else none."""
    role = role_of(user)
    requests = ExemptionRequest.objects.all()
    if role in TOWER_ROLES:
        # A subquery, not a join: no duplicate rows, and annotations count every item.
        naming = ExemptionRequest.items.through.objects.filter(assignment__team__in=teams_of(user))
        return requests.filter(pk__in=naming.values("exemptionrequest_id"))
    if role in (Role.ADMIN, Role.ANALYST, Role.VIEWER):
        return requests
    return requests.none()


def standing_requests(items: QuerySet[Assignment] | list[Assignment]) -> dict[int, ExemptionRequest]:
    """Item id -> its pending or approved (not expired) request, for the items given."""
    found: dict[int, ExemptionRequest] = {}
    pks = [item.pk for item in items]
    through = ExemptionRequest.items.through.objects.filter(
        assignment_id__in=pks, exemptionrequest__in=ExemptionRequest.objects.filter(STANDING)
    ).select_related("exemptionrequest")
    for row in through:
        found[row.assignment_id] = row.exemptionrequest
    return found


def show_requests(items: list[Assignment]) -> None:
    """Give each item of a page `standing_request`: its pending or approved request, or None."""
    standing = standing_requests(items)
    for item in items:
        # A page's attribute, not a field: My items shows it beside the item.
        setattr(item, "standing_request", standing.get(item.pk))  # noqa: B010


@dataclass(frozen=True)
class Ask:
    """What a requester asks for."""

    category: str
    justification: str
    expires_on: date | None


def _check_ask(ask: Ask, items: list[Assignment], today: date) -> None:
    if ask.category not in RequestCategory.values:
        raise UserError(f"choose the kind of exemption: {', '.join(RequestCategory.labels)}")
    if not ask.justification.strip():
        raise UserError("an exemption request needs a justification")
    if ask.expires_on is None:
        raise UserError("an exemption request needs an expiry date")
    if ask.expires_on < today:
        raise UserError("the expiry is in the past")
    if ask.expires_on > today + LONGEST:
        raise UserError(f"the expiry is at most a year ahead ({today + LONGEST:%Y-%m-%d})")
    if not items:
        raise UserError("select at least one item")
    if len({item.team_id for item in items}) > 1:
        # A request is one team's: its lead and members see all of it, no other tower any of it.
        raise UserError("a request holds the items of one team: make one request per team")
    closed = [item for item in items if item.status not in OPEN_STATUSES]
    if closed:
        listed = ", ".join(f"#{i.pk} is {i.get_status_display()}" for i in closed)
        raise UserError(f"only open items are deferred: {listed}")
    if ask.category != RequestCategory.RISK_ACCEPTED:
        rules = [item for item in items if item.finding_id is not None]
        if rules:
            raise UserError(
                "a failed rule's item is deferred as Risk accepted (a Waiver or Mitigated exempts a "
                f"whole recommendation on a resource): {', '.join(f'#{i.pk}' for i in rules)}"
            )
    taken = standing_requests(items)
    if taken:
        raise UserError(
            "already requested: "
            + ", ".join(f"#{pk} in request #{request.pk}" for pk, request in sorted(taken.items()))
        )


@transaction.atomic
def request_exemption(
    *, user: Person, items: list[Assignment], ask: Ask, ip: str | None = None
) -> ExemptionRequest:
    """Ask to defer items; the caller's role and each item are checked before anything else."""
    if role_of(user) not in REQUESTERS:
        raise NotAllowed(REQUEST_REFUSAL)
    for item in items:
        if not can_act_on(user, item):
            raise NotAllowed("you cannot change this item")
    today = timezone.localdate()
    _check_ask(ask, items, today)
    assert ask.expires_on is not None
    request = ExemptionRequest.objects.create(
        category=ask.category,
        justification=ask.justification.strip(),
        expires_on=ask.expires_on,
        requested_by=user if user.is_authenticated else None,
    )
    request.items.set(items)
    label = f"{request.get_category_display()} until {ask.expires_on:%Y-%m-%d}"
    after = {
        "category": ask.category,
        "justification": request.justification,
        "expires_on": ask.expires_on.isoformat(),
        "items": [item.pk for item in items],
    }
    trail.record(
        actor=user,
        action=trail.EXEMPTION_REQUEST,
        obj=request,
        summary=f"requested {label} for {len(items)} item(s)",
        after=after,
        ip=ip,
    )
    trail.record_many(
        trail.event(
            actor=user,
            action=trail.EXEMPTION_REQUEST,
            obj=item,
            summary=f"exemption requested ({label}, request #{request.pk}): {request.justification}",
            ip=ip,
        )
        for item in items
    )
    return request


@transaction.atomic
def decide_request(
    *, user: Person, request: ExemptionRequest, approve: bool, note: str = "", ip: str | None = None
) -> ExemptionRequest:
    """Approve or reject a pending request: an analyst or admin, never the requester."""
    if role_of(user) not in APPROVERS:
        raise NotAllowed(DECISION_REFUSAL)
    request = ExemptionRequest.objects.select_for_update().get(pk=request.pk)
    if user.is_authenticated and request.requested_by_id == user.pk:
        raise NotAllowed(OWN_REFUSAL)
    if request.state != RequestState.PENDING:
        raise UserError(f"request #{request.pk} is {request.get_state_display().lower()} already")
    if not approve and not note.strip():
        raise UserError("say why the request is rejected")
    now = timezone.now()
    items = list(
        request.items.select_related("assessment__resource", "assessment__recommendation", "finding__rule")
    )
    if approve:
        if request.expires_on < timezone.localdate():
            raise UserError("the request's expiry has passed: the tower must ask again")
        closed = [item for item in items if item.status not in OPEN_STATUSES]
        if closed:
            raise UserError(
                "items closed since the request: "
                + ", ".join(f"#{i.pk} is {i.get_status_display()}" for i in closed)
                + "; reject it and ask again"
            )
        _carry_out(request, items, user=user, ip=ip)
    request.state = RequestState.APPROVED if approve else RequestState.REJECTED
    request.decided_by = user if user.is_authenticated else None
    request.decided_at = now
    request.decision_note = note.strip()
    request.save()
    verdict = "approved" if approve else "rejected"
    trail.record(
        actor=user,
        action=trail.EXEMPTION_DECISION,
        obj=request,
        summary=f"request #{request.pk} {verdict}"
        + (f": {request.decision_note}" if request.decision_note else ""),
        before={"state": RequestState.PENDING},
        after={"state": request.state, "note": request.decision_note},
        ip=ip,
    )
    trail.record_many(
        trail.event(
            actor=user,
            action=trail.EXEMPTION_DECISION,
            obj=item,
            summary=f"exemption request #{request.pk} {verdict}"
            + (f": {request.decision_note}" if request.decision_note else ""),
            ip=ip,
        )
        for item in items
    )
    notify_decided(request.pk)
    return request


def _carry_out(request: ExemptionRequest, items: list[Assignment], *, user: Person, ip: str | None) -> None:
    """What an approved request does to its items."""
    if request.category == RequestCategory.RISK_ACCEPTED:
        for item in items:
            set_decided_status(
                user=user,
                item=item,
                status=AssignmentStatus.RISK_ACCEPTED,
                note=f"Risk accepted until {request.expires_on:%Y-%m-%d} (request #{request.pk}).",
                ip=ip,
            )
        return
    seen: set[tuple[int, int]] = set()
    for item in items:
        assessment = item.assessment
        pair = (assessment.resource_id, assessment.recommendation_id)
        if pair in seen:
            continue
        seen.add(pair)
        exemption = create_exemption(
            user=user,
            recommendation=assessment.recommendation,
            category=request.category,
            justification=f"{request.justification} (exemption request #{request.pk})",
            expires_at=end_of(request.expires_on),
            resource=assessment.resource,
            ip=ip,
        )
        request.exemptions.add(exemption)


def follow_expiry(now: datetime | None = None) -> dict[str, int]:
    """Beat's hourly pass: warn of approved requests ending within a week (once), and end those whose
    last day is over (their exemptions end, risk-accepted items are open again)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    approved = ExemptionRequest.objects.filter(state=RequestState.APPROVED, ended_at__isnull=True)
    warn = list(
        approved.filter(warned_at__isnull=True, expires_on__gte=today, expires_on__lte=today + WARN_BEFORE)
    )
    for request in warn:
        request.warned_at = now
        request.save(update_fields=["warned_at"])
        notify_expiring(request.pk)
    expired = 0
    for request in approved.filter(expires_on__lt=today):
        expire_request(request, now=now)
        expired += 1
    return {"warned": len(warn), "expired": expired}


@transaction.atomic
def expire_request(request: ExemptionRequest, *, now: datetime) -> None:
    """An approved request's last day is over: what it deferred comes back."""
    for exemption in request.exemptions.filter(ended_at__isnull=True):
        end_exemption(exemption, why=f"expired (request #{request.pk})")
    for item in request.items.filter(status=AssignmentStatus.RISK_ACCEPTED):
        set_decided_status(
            user=None,
            item=item,
            status=AssignmentStatus.OPEN,
            note=f"The risk acceptance of request #{request.pk} expired on {request.expires_on:%Y-%m-%d}: "
            "the item is open again.",
        )
    request.state = RequestState.EXPIRED
    request.ended_at = now
    request.save(update_fields=["state", "ended_at"])
    trail.record(
        actor=None,
        action=trail.EXEMPTION_DECISION,
        obj=request,
        summary=f"request #{request.pk} expired on {request.expires_on:%Y-%m-%d}",
        before={"state": RequestState.APPROVED},
        after={"state": RequestState.EXPIRED},
    )
