"""The demo estate: every recommendation with every status it can take, and idempotent."""

import pytest

from posture.demo import load_demo
from posture.models import Resource, ResourceKind
from recommendations.models import Assessment, AssessmentStatus, Recommendation
from scoring.engine import compute_score
from tests.db_state import database_state

pytestmark = pytest.mark.django_db


def test_demo_exercises_every_recommendation_and_status():
    load_demo()
    seen = set(Assessment.objects.values_list("recommendation__key", "status").distinct())
    for key in Recommendation.objects.values_list("key", flat=True):
        statuses = {status for rec, status in seen if rec == key}
        assert AssessmentStatus.HEALTHY in statuses, key
        assert AssessmentStatus.UNHEALTHY in statuses, key
    assert {status for _, status in seen} == set(AssessmentStatus.values)
    assert set(Resource.objects.values_list("kind", flat=True)) == set(ResourceKind.values)
    assert Assessment.objects.filter(cause="OffByPolicy").exists()
    report = compute_score()
    assert 0 < report.current < report.max


def test_loading_the_demo_twice_changes_nothing():
    load_demo()
    before = database_state()
    second = load_demo()
    assert second["inventory"]["resources_unchanged"] == Resource.objects.count()
    # What a scan evaluated is kept over the export's statuses, and counted as such.
    defender = second["defender"]
    assert defender["assessments_unchanged"] + defender["kept_own_evidence"] == Assessment.objects.count()
    assert second["os configuration"]["scans"] == 0
    assert database_state() == before
