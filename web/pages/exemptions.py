"""Exemption pages: the list (active and ended), the form that exempts a recommendation on a scope,
and the button that ends one. The work is governance/exemptions.py's."""

from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audit import trail
from governance.exemptions import create_exemption, end_exemption
from governance.models import Exemption, ExemptionCategory
from posture.errors import UserError
from posture.models import Resource, Subscription
from posture.scope import Scope
from recommendations.models import Recommendation
from web.access import ACCESS, allows
from web.pages.rendering import paginate, render_page, scoped

SCOPES = (
    ("resource", "A resource"),
    ("group", "A resource group of a subscription"),
    ("subscription", "A subscription"),
    ("all", "Every resource"),
)


@require_safe
@scoped
def exemption_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    exemptions = Exemption.objects.select_related(
        "recommendation", "subscription", "resource", "created_by"
    ).order_by("-created_at", "-pk")
    if not scope.is_estate:
        # Exemptions that reach into the chosen subscriptions: theirs, and the estate-wide ones.
        exemptions = exemptions.filter(
            Q(subscription_id__in=scope.subscription_ids or ()) | Q(subscription__isnull=True)
        )
    context = {
        "nav": "governance-report",
        "page_obj": paginate(request, exemptions),
        "now": timezone.now(),
        "may_change": allows(ACCESS["exemption-create"], request.user),
    }
    return render_page(request, "governance/exemption_list.html", context, scope)


def _expiry(raw: str) -> datetime | None:
    """The end of the chosen day, in the server's time zone (an exemption lasts through that day)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = parse_date(raw)
    except ValueError:  # well-formed but impossible, like 2026-02-30
        day = None
    if day is None:
        raise UserError(f"the expiry {raw!r} is not a date (YYYY-MM-DD)")
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def _scope_fields(data: Any) -> dict[str, Any]:
    """The create_exemption arguments of the chosen scope; the other scope fields are ignored."""
    chosen = data.get("scope", "")
    if chosen == "all":
        return {}
    if chosen == "resource":
        wanted = data.get("resource", "").strip()
        if not wanted:
            raise UserError("name the resource: its resource id or its name")
        matches = list(Resource.objects.filter(Q(resource_id__iexact=wanted) | Q(name__iexact=wanted))[:2])
        if not matches:
            raise UserError(f"no resource has the id or name {wanted!r}")
        if len(matches) > 1:
            raise UserError(f"several resources are named {wanted!r}: give the resource id")
        return {"resource": matches[0]}
    if chosen in ("group", "subscription"):
        raw = data.get("subscription", "")
        subscription = Subscription.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if subscription is None:
            raise UserError("choose the subscription")
        if chosen == "subscription":
            return {"subscription": subscription}
        group = data.get("resource_group", "").strip()
        if not group:
            raise UserError("name the resource group")
        return {"subscription": subscription, "resource_group": group}
    raise UserError("choose the scope: a resource, a resource group, a subscription, or every resource")


@require_http_methods(["GET", "HEAD", "POST"])
@scoped
def exemption_create(request: HttpRequest, scope: Scope) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    error = None
    if request.method == "POST":
        try:
            recommendation = Recommendation.objects.filter(key=data.get("recommendation", "")).first()
            if recommendation is None:
                raise UserError("choose a recommendation of the catalog")
            exemption = create_exemption(
                user=request.user,
                recommendation=recommendation,
                category=data.get("category", ""),
                justification=data.get("justification", ""),
                expires_at=_expiry(data.get("expires", "")),
                ip=trail.client_ip(request),
                **_scope_fields(data),
            )
        except UserError as problem:
            error = problem.message
        else:
            messages.success(request, f"{exemption}: {exemption.scope_label} is exempted.")
            return HttpResponseRedirect(reverse("exemptions"))
    context = {
        "nav": "governance-report",
        "error": error,
        "form": data,
        "recommendations": Recommendation.objects.order_by("display_name").only("key", "display_name"),
        "subscriptions": Subscription.objects.order_by("name"),
        "scopes": SCOPES,
        "categories": ExemptionCategory.choices,
    }
    return render_page(
        request, "governance/exemption_form.html", context, scope, status=400 if error else 200
    )


@require_POST
def exemption_end(request: HttpRequest, pk: int) -> HttpResponse:
    exemption = get_object_or_404(Exemption.objects.select_related("recommendation"), pk=pk)
    if exemption.ended_at is not None:
        messages.warning(request, f"{exemption} had already ended.")
    else:
        restored = end_exemption(exemption, user=request.user, ip=trail.client_ip(request))
        messages.success(request, f"{exemption} ended: {restored} assessments count again.")
    return HttpResponseRedirect(reverse("exemptions"))
