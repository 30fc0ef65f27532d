"""No query per row: a list costs the same number of queries for one row as for many."""

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import Assignment, Comment, Exemption, GovernanceRule
from governance.towers import refresh_tower_summaries
from tests.api.conftest import Estate
from tests.factories import make_assessment, make_resource

pytestmark = pytest.mark.django_db

ROUTES = (
    "api-subscriptions",
    "api-resources",
    "api-controls",
    "api-recommendations",
    "api-assessments",
    "api-findings",
    "api-teams",
    "api-assignments",
    "api-exemptions",
    "api-governance-rules",
    "api-imports",
)


def count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def grow(estate: Estate, n: int) -> None:
    for i in range(n):
        resource = make_resource(estate.red.subscription, name=f"more-{i}")
        assessment = make_assessment(resource, estate.recommendation, "unhealthy")
        item = Assignment.objects.create(
            assessment=assessment,
            team=estate.red.team,
            first_detected=timezone.now(),
            due_date=date(2026, 12, 1),
        )
        refresh_tower_summaries([item.assessment.resource_id])
        Comment.objects.create(assignment=item, text="x", author=estate.red.member)
        Exemption.objects.create(
            recommendation=estate.recommendation, resource=resource, category="waiver", justification="x"
        )
        GovernanceRule.objects.create(name=f"rule {i}", priority=10 + i, team=estate.red.team)


@pytest.mark.parametrize("route", ROUTES)
def test_a_list_costs_the_same_queries_however_long(estate: Estate, api: Client, route: str) -> None:
    url = reverse(route)
    api.get(url)  # warm up what is cached per process (the role, content types)
    few = count(api, url)
    grow(estate, 6)
    assert count(api, url) == few


def test_comments_cost_the_same_queries_however_many(estate: Estate, api: Client) -> None:
    url = reverse("api-assignment-comments", args=[estate.red.item.pk])
    Comment.objects.create(assignment=estate.red.item, text="first", author=estate.red.member)
    api.get(url)
    few = count(api, url)
    for n in range(5):
        Comment.objects.create(assignment=estate.red.item, text=f"more {n}", author=estate.red.lead)
    assert count(api, url) == few
