"""What every page shares: the subscription scope it reads, keeps in its links and offers in the
header's selector, the page layout's context, the answer to a user's mistake, and pagination.

Every page reads `?subscription=` (a name or a cloud id, `group:<name>` for a group of subscriptions;
empty means all subscriptions), keeps it in its links through `scope_query`, and answers an unknown
subscription or group with a message and a 404.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from governance.scoping import restrict, scope_for_user
from posture.errors import EmptyGroup, UnknownSubscription, UserError
from posture.models import Cloud
from posture.scope import ESTATE, GROUP_PREFIX, Scope, groups_holding, scope_parameter, visible_subscriptions

PAGE_SIZE = 50

Row = TypeVar("Row", bound=Model)
P = ParamSpec("P")


class BadFilter(UserError):
    pass


def scope_of(request: HttpRequest) -> Scope:
    """The scope `?subscription=` selects, narrowed to what the user may see (a tower's members see
    their tower's resources only); raises UnknownSubscription (a UserError)."""
    return scope_for_user(request.GET.get("subscription", ""), request.user)


def scoped(
    view: Callable[Concatenate[HttpRequest, Scope, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """A page view gets the scope `?subscription=` selects; an unknown subscription is the page's 404."""

    @wraps(view)
    def with_scope(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            scope = scope_of(request)
        except UserError as error:
            return render_user_error(request, error, 404)
        return view(request, scope, *args, **kwargs)

    return with_scope


def scope_query(scope: Scope) -> QueryDict:
    """The query that keeps a scope in links: `{% querystring scope_query other=value %}`."""
    query = QueryDict(mutable=True)
    value = scope_parameter(scope)
    if value:
        query["subscription"] = value
    return query


# The scope selector's option groups, in this order.
CLOUD_HEADINGS = (
    ("Subscriptions", (Cloud.AZURE, Cloud.NONE)),
    ("AWS accounts", (Cloud.AWS,)),
    ("GCP projects", (Cloud.GCP,)),
)


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], scope: Scope, status: int = 200
) -> HttpResponse:
    """Render a page with what the header's scope selector and the page's links need."""
    # The selector keeps the page's other parameters (tab, sort, filters) but starts again at page one.
    keep = [
        (name, value)
        for name, values in request.GET.lists()
        if name not in ("subscription", "page")
        for value in values
    ]
    choosable = visible_subscriptions(scope)
    scopes = list(choosable.order_by("name").values_list("name", "cloud"))
    shared = {
        "scope": scope,
        "scope_query": scope_query(scope),
        "scope_choices": [name for name, _ in scopes],
        # The same, by cloud: (heading, names) for the selector's option groups.
        "scope_clouds": [
            (heading, names)
            for heading, clouds in CLOUD_HEADINGS
            if (names := [name for name, cloud in scopes if cloud in clouds])
        ],
        # (value, name) of the groups holding a subscription the user may choose.
        "scope_groups": [
            (GROUP_PREFIX + name, name) for name in groups_holding(choosable).values_list("name", flat=True)
        ],
        # The selected `?subscription=` value, for the selector and the pages' own filter forms.
        "scope_value": scope_parameter(scope),
        "scope_keep": keep,
    }
    return render(request, template, {**shared, **context}, status=status)


def render_user_error(request: HttpRequest, error: UserError, status: int) -> HttpResponse:
    """The page's place taken by the user's mistake, said plainly; the scope falls back to all the
    user may see."""
    if isinstance(error, UnknownSubscription):
        title = "Unknown subscription"
    elif isinstance(error, EmptyGroup):
        title = "Empty group"
    else:
        title = "Invalid filter"
    context = {"title": title, "message": error.message}
    return render_page(request, "posture/user_error.html", context, restrict(ESTATE, request.user), status)


def paginate(request: HttpRequest, queryset: QuerySet[Row], count: int | None = None) -> Page[Row]:
    """The requested page; a page number out of range gives the last page, a non-number the first.
    `count`: the rows' number when the caller has it cheaper than counting the queryset."""
    paginator = Paginator(queryset, PAGE_SIZE)
    if count is not None:
        paginator.count = count  # a cached property: set, it is never computed
    return paginator.get_page(request.GET.get("page"))
