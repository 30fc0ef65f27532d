"""Two towers' estate for the API tests, and clients calling with a session or an API token."""

from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from governance.api_tokens import issue_api_token
from governance.models import Assignment, Team
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from posture.models import Resource, Subscription
from recommendations.models import Assessment, Recommendation
from tests.factories import (
    make_assessment,
    make_control,
    make_recommendation,
    make_resource,
    make_subscription,
    make_user,
)
from tests.scans import scan_xccdf


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    # Throttle counts live in the cache, keyed by user id, and ids are reused from test to test.
    cache.clear()


@dataclass
class Tower:
    team: Team
    subscription: Subscription
    resource: Resource
    assessment: Assessment
    item: Assignment
    lead: User
    member: User


@dataclass
class Estate:
    recommendation: Recommendation
    red: Tower
    blue: Tower


def make_tower(name: str, recommendation: Recommendation) -> Tower:
    team = Team.objects.create(name=name)
    subscription = make_subscription(f"sub-{name}")
    resource = make_resource(subscription, name=f"{name}-vm")
    assessment = make_assessment(resource, recommendation, "unhealthy", reason="Disks are not encrypted")
    item = Assignment.objects.create(
        assessment=assessment, team=team, first_detected=timezone.now(), due_date=date(2026, 12, 31)
    )
    refresh_tower_summaries([item.assessment.resource_id])
    return Tower(
        team=team,
        subscription=subscription,
        resource=resource,
        assessment=assessment,
        item=item,
        lead=make_user(f"{name}-lead", role=Role.LEAD, team=team, email=f"{name}-lead@example.com"),
        member=make_user(f"{name}-member", role=Role.MEMBER, team=team, email=f"{name}-member@example.com"),
    )


@pytest.fixture
def estate(db: None) -> Estate:
    recommendation = make_recommendation("disk-encryption", severity="high")
    make_control("Encrypt data at rest", 4, [recommendation])
    red = make_tower("red", recommendation)
    blue = make_tower("blue", recommendation)
    scan_xccdf("red-vm", {"sshd_disable_root_login": "fail", "audit_rules": "pass"})
    scan_xccdf("blue-vm", {"sshd_disable_root_login": "fail"})
    return Estate(recommendation=recommendation, red=red, blue=blue)


def token_client(user: User) -> Client:
    """A client that authenticates with a fresh API token of `user` (no session)."""
    key = issue_api_token(user=user, label="tests").key
    return Client(headers={"authorization": f"Token {key}"})


@pytest.fixture
def analyst(db: None) -> User:
    return make_user("ana", role=Role.ANALYST, email="ana@example.com")


@pytest.fixture
def api(analyst: User) -> Client:
    return token_client(analyst)
