"""Mail: a note when items are assigned, and the weekly digest (Celery beat) to owners and team leads.

Sent through Django's email backend: the console in development, SMTP from the environment in
production (posture/settings.py). Mails go after the transaction commits, so a rolled-back import
sends nothing.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mass_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from governance.models import Assignment, AssignmentStatus, ExemptionRequest, Membership

Message = tuple[str, str, str, list[str]]
OPEN_STATUSES = (AssignmentStatus.OPEN, AssignmentStatus.IN_PROGRESS)


def _line(item: Assignment) -> str:
    assessment = item.assessment
    what = assessment.recommendation.display_name
    if item.finding_id is not None:
        what = f"{item.finding.rule.title} ({item.finding.rule.cce or 'no CCE'})"  # type: ignore[union-attr]
    return (
        f"- {what} on {assessment.resource.name}: due {item.due_date:%Y-%m-%d} ({item.get_status_display()})"
    )


def _mailable(address: str) -> bool:
    """An owner read from a resource tag can be anything ("alice", "team linux"): mail only addresses,
    since one bad recipient would fail the whole batch, after the commit, in the import's task."""
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _items(pks: Iterable[int]) -> QuerySet[Assignment]:
    return Assignment.objects.filter(pk__in=list(pks)).select_related(
        "assessment__resource", "assessment__recommendation", "finding__rule", "team"
    )


def _leads(team_ids: Iterable[int]) -> dict[int, list[str]]:
    leads: dict[int, list[str]] = defaultdict(list)
    for team_id, email in (
        Membership.objects.filter(team_id__in=list(team_ids), is_lead=True)
        .exclude(user__email="")
        .values_list("team_id", "user__email")
    ):
        leads[team_id].append(email)
    return leads


def assigned_messages(pks: Iterable[int]) -> list[Message]:
    """One mail per recipient: an item's owner, else its team's leads."""
    items = list(_items(pks))
    leads = _leads({i.team_id for i in items if i.team_id})
    by_recipient: dict[str, list[Assignment]] = defaultdict(list)
    for item in items:
        recipients = [item.owner] if _mailable(item.owner) else leads.get(item.team_id or 0, [])
        for recipient in recipients:
            by_recipient[recipient].append(item)
    sender = settings.DEFAULT_FROM_EMAIL
    return [
        (
            f"Posture: {len(assigned)} item{'' if len(assigned) == 1 else 's'} assigned to you",
            "These security findings were assigned to you or your team:\n\n"
            + "\n".join(_line(i) for i in assigned)
            + "\n",
            sender,
            [recipient],
        )
        for recipient, assigned in sorted(by_recipient.items())
    ]


def notify_assigned(pks: Iterable[int]) -> None:
    """Mail the new assignees once the transaction that assigned the items commits."""
    chosen = list(pks)
    if chosen:
        transaction.on_commit(lambda: send_mass_mail(assigned_messages(chosen), fail_silently=False))


def digest_messages() -> list[Message]:
    today = timezone.localdate()
    # An exempted item is decided: it stays open, but nobody is asked to fix it.
    pending = Assignment.objects.filter(status__in=OPEN_STATUSES, assessment__held_status="").select_related(
        "assessment__resource", "assessment__recommendation", "finding__rule", "team"
    )
    by_owner: dict[str, list[Assignment]] = defaultdict(list)
    overdue_by_team: dict[int, list[Assignment]] = defaultdict(list)
    for item in pending.order_by("due_date", "pk"):
        if _mailable(item.owner):
            by_owner[item.owner].append(item)
        if item.team_id and item.due_date < today:
            overdue_by_team[item.team_id].append(item)
    sender = settings.DEFAULT_FROM_EMAIL
    messages: list[Message] = []
    for owner, items in sorted(by_owner.items()):
        overdue = [i for i in items if i.due_date < today]
        body = f"You have {len(items)} open item(s), {len(overdue)} overdue.\n\n"
        if overdue:
            body += "Overdue:\n" + "\n".join(_line(i) for i in overdue) + "\n\n"
        upcoming = [i for i in items if i.due_date >= today]
        if upcoming:
            body += "Open:\n" + "\n".join(_line(i) for i in upcoming) + "\n"
        messages.append(
            (f"Posture weekly digest: {len(items)} open, {len(overdue)} overdue", body, sender, [owner])
        )
    leads = _leads(overdue_by_team)
    for team_id, items in overdue_by_team.items():
        team = items[0].team
        for lead in leads.get(team_id, []):
            body = f"{team} has {len(items)} overdue item(s):\n\n" + "\n".join(_line(i) for i in items) + "\n"
            messages.append((f"Posture: {len(items)} overdue item(s) in {team}", body, sender, [lead]))
    return messages


def send_weekly_digests() -> int:
    messages = digest_messages()
    return send_mass_mail(messages, fail_silently=False) if messages else 0


# --- exemption requests -----------------------------------------------------------------------------


def _request(pk: int) -> ExemptionRequest:
    return ExemptionRequest.objects.select_related("requested_by", "decided_by").get(pk=pk)


def expiring_messages(request_pk: int) -> list[Message]:
    """One mail to each owner of the request's items and to each lead of their teams: it ends soon."""
    request = _request(request_pk)
    items = list(_items(request.items.values_list("pk", flat=True)))
    recipients = {item.owner for item in items if _mailable(item.owner)}
    for emails in _leads({item.team_id for item in items if item.team_id}).values():
        recipients.update(emails)
    what = request.get_category_display()
    body = (
        f"The exemption request #{request.pk} ({what}) ends on {request.expires_on:%Y-%m-%d}; "
        "after that day these items count again and are due as before:\n\n"
        + "\n".join(_line(item) for item in items)
        + f"\n\nJustification: {request.justification}\n"
        "Fix them, or ask for a new exemption before it ends.\n"
    )
    subject = f"Posture: an exemption ({what}) of {len(items)} item(s) ends on {request.expires_on:%Y-%m-%d}"
    return [(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient]) for recipient in sorted(recipients)]


def notify_expiring(request_pk: int) -> None:
    transaction.on_commit(lambda: send_mass_mail(expiring_messages(request_pk), fail_silently=False))


def decided_messages(request_pk: int) -> list[Message]:
    """The requester hears of the decision."""
    request = _request(request_pk)
    requester = request.requested_by.email if request.requested_by else ""
    if not _mailable(requester):
        return []
    verdict = request.get_state_display().lower()
    body = f"Your exemption request #{request.pk} ({request.get_category_display()}, until "
    body += f"{request.expires_on:%Y-%m-%d}) was {verdict} by {request.decided_by}.\n"
    if request.decision_note:
        body += f"\n{request.decision_note}\n"
    subject = f"Posture: exemption request #{request.pk} {verdict}"
    return [(subject, body, settings.DEFAULT_FROM_EMAIL, [requester])]


def notify_decided(request_pk: int) -> None:
    transaction.on_commit(lambda: send_mass_mail(decided_messages(request_pk), fail_silently=False))
