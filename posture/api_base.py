"""What every REST list shares: cursor pagination, whitelisted ordering, throttles and the caller's scope."""

from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from governance.scoping import scope_for_user
from posture.errors import UserError
from scoring.engine import Scope


class Cursor(CursorPagination):
    """Keyset pages (`?cursor=`), by `id` unless `?ordering=` names a whitelisted field; ties on that
    field are broken by `id`, so every page is the same whatever the database."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "id"

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        ordering = tuple(super().get_ordering(request, queryset, view))
        if ordering[-1].lstrip("-") in ("id", "pk"):
            return ordering
        return (*ordering, "-id" if ordering[0].startswith("-") else "id")


class Ordering(OrderingFilter):
    """`?ordering=field` or `-field` among the view's `ordering_fields` only; anything else is ignored
    (the default order, by id) as REST framework's OrderingFilter does."""

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = list(getattr(view, "ordering_fields", ()))
        allowed = ", ".join(f"`{name}`" for name in fields)
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": f"Sort by {allowed}, descending with a leading `-`; anything else is ignored.",
                "schema": {"type": "string", "enum": [v for name in fields for v in (name, f"-{name}")]},
            }
        ]


LIST_BACKENDS = [DjangoFilterBackend, Ordering]

# The largest primary key (BigAutoField); a larger number would overflow the database's integer.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An object's id in a filter: a whole number the database can hold, else a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
        # The schema says so (drf-spectacular would say "number"), with the filter's own help text.
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        self._spectacular_annotation = {"field": {**schema, "description": kwargs.get("help_text", "")}}


SUBSCRIPTION_PARAMETER = OpenApiParameter(
    "subscription",
    OpenApiTypes.STR,
    description="A subscription's name or id, or `group:NAME`: only its objects (404 when unknown).",
)


def caller_scope(request: Request) -> Scope:
    """The scope `?subscription=` selects, narrowed to what the caller may see; unknown is a 404."""
    try:
        return scope_for_user(request.query_params.get("subscription") or None, request.user)
    except UserError as error:
        raise NotFound(error.message) from None


def _ident(request: Request) -> str | None:
    """Who a throttle counts: a user by id, an agent by its enrollment token."""
    token = getattr(request.user, "token", None)
    if token is not None and not hasattr(request.user, "pk"):
        return f"agent-{token.pk}"
    return None


class UserThrottle(UserRateThrottle):
    """POSTURE_API_USER_RATE calls per user (an agent: per enrollment token), read at each call."""

    def get_rate(self) -> str:
        return str(settings.POSTURE_API_USER_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        agent = _ident(request)
        if agent is not None:
            return self.cache_format % {"scope": self.scope, "ident": agent}
        return super().get_cache_key(request, view)


class AnonThrottle(AnonRateThrottle):
    """POSTURE_API_ANON_RATE calls per address without a login (only public routes get this far)."""

    def get_rate(self) -> str:
        return str(settings.POSTURE_API_ANON_RATE)
