"""What every REST list shares: cursor pagination, whitelisted ordering, throttles and the caller's scope."""

import base64
import binascii
import json
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Q, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.utils.urls import replace_query_param

from governance.scoping import scope_for_user
from posture.errors import UserError
from posture.scope import Scope


class Cursor(CursorPagination):
    """Keyset pages (`?cursor=`), by `id` unless `?ordering=` names whitelisted fields, with `id` last.

    The cursor holds the whole sort key of the row it follows (the ordering fields and the id), so a
    page is one indexed range query however deep, and ties on a field (a status, a name) neither skip
    nor repeat rows either way. REST framework's own cursor keeps only the first field and counts an
    offset through the ties, which is slow on them and loses rows when paging back.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "id"

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        ordering = tuple(super().get_ordering(request, queryset, view))
        if ordering[-1].lstrip("-") in ("id", "pk"):
            return ordering
        return (*ordering, "-id" if ordering[-1].startswith("-") else "id")

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        self.request = request
        size = self.get_page_size(request)
        if not size:
            return None
        self.base_url = request.build_absolute_uri()
        self.sort = self.get_ordering(request, queryset, view)
        backwards, key = self._decode(request)
        order = [_flipped(name) for name in self.sort] if backwards else list(self.sort)
        if key is not None:
            queryset = queryset.filter(_beyond(order, key))
        rows = list(queryset.order_by(*order)[: size + 1])
        more = len(rows) > size
        self.page = rows[:size]
        if backwards:
            self.page.reverse()
        # Paging back we came from the next page; paging on we came from the previous one.
        self.has_next = True if backwards else more
        self.has_previous = more if backwards else key is not None
        return self.page

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.page:
            return None
        return self._link(self.page[-1], backwards=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.page:
            return None
        return self._link(self.page[0], backwards=True)

    def _link(self, row: Any, *, backwards: bool) -> str:
        key = [_plain(getattr(row, name.lstrip("-"))) for name in self.sort]
        token = base64.urlsafe_b64encode(json.dumps({"b": backwards, "k": key}).encode()).decode()
        return replace_query_param(self.base_url or "", self.cursor_query_param, token)

    def _decode(self, request: Request) -> tuple[bool, list[Any] | None]:
        token = request.query_params.get(self.cursor_query_param)
        if not token:
            return False, None
        try:
            found = json.loads(base64.urlsafe_b64decode(token.encode()))
            backwards, key = bool(found["b"]), list(found["k"])
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise NotFound(self.invalid_cursor_message) from None
        if len(key) != len(self.sort):
            # A cursor of another ordering: start again rather than guess.
            return False, None
        return backwards, key


def _flipped(name: str) -> str:
    return name[1:] if name.startswith("-") else f"-{name}"


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, str)) else str(value)


def _beyond(order: list[str], key: list[Any]) -> Q:
    """Rows after `key` in `order`: (a > x) or (a = x and b > y) or ... (`<` for a descending field)."""
    condition = Q(pk__in=[])
    equal = Q()
    for name, value in zip(order, key, strict=True):
        field = name.lstrip("-")
        lookup = "lt" if name.startswith("-") else "gt"
        condition |= equal & Q(**{f"{field}__{lookup}": value})
        equal &= Q(**{field: value})
    return condition


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
    description=(
        "A subscription's, AWS account's or GCP project's name or id (`aws:ID`, `gcp:PROJECT`), or "
        "`group:NAME`: only its objects (404 when unknown)."
    ),
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
