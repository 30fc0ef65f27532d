"""Schemathesis over the whole schema: generated requests of every operation, authenticated with an
analyst's API token, never get a server error. Deterministic (derandomized), a few examples each."""

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.result import Ok

from config.wsgi import application
from governance.api_tokens import issue_api_token
from governance.roles import Role
from tests.api.conftest import Estate
from tests.factories import make_user

pytestmark = pytest.mark.django_db

EXAMPLES = 12


def run_operation(operation: Any, headers: dict[str, str], seen: Counter[tuple[str, int]]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(app=application, headers=headers)
        seen[(operation.path, response.status_code)] += 1
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"

    check()


@pytest.fixture
def connection_kept_across_requests() -> Iterator[None]:
    """Schemathesis calls the real WSGI handler, whose request signals close the database connection
    after each request; the test's transaction lives on that connection (on PostgreSQL it would be
    gone), so keep it open as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@override_settings(POSTURE_API_USER_RATE="100000/min")
def test_no_operation_answers_with_a_server_error(
    estate: Estate, connection_kept_across_requests: None
) -> None:
    raw = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    schema = schemathesis.openapi.from_dict(raw)
    headers = {"Authorization": f"Token {issue_api_token(user=estate.red.lead, label='fuzz').key}"}
    analyst = make_user("fuzzer", role=Role.ANALYST)
    analyst_headers = {"Authorization": f"Token {issue_api_token(user=analyst, label='fuzz').key}"}
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) > 30
    seen: Counter[tuple[str, int]] = Counter()
    for operation in operations:
        for who in (analyst_headers, headers):
            run_operation(operation, who, seen)
    # The token works: calls get through to the views (a 401 would mean they did not), except to the
    # agents' heartbeats, which take an enrollment token only.
    assert {path for path, code in seen if code == 401} == {"/api/v1/heartbeats/"}
    assert sum(n for (_, code), n in seen.items() if code < 300) > len(operations)
