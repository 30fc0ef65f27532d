"""Defender for Cloud's own secure score, imported as reported scores.

Samples and where they came from:
- defender-score/rest-securescores.json and rest-securescorecontrols.json: GENUINE. The response bodies
  (`responses.200.body`, re-serialised with the same keys and values) of Microsoft's published examples
  of `GET .../providers/Microsoft.Security/secureScores` and `.../secureScores/ascScore/secureScoreControls`
  (Azure/azure-rest-api-specs, specification/security/resource-manager/Microsoft.Security/stable/
  2020-01-01/examples/secureScores/ListSecureScores_example.json at commit
  df74858bfda6128d16c98265db2a6f42e89b20ff and ListSecureScoreControls_example.json at commit
  dc72ee46be8f178dec4cd6de129fca97354032f7; MIT licence).
- defender-score/arg-securescores.DERIVED.json: DERIVED. The same records as `az graph query` prints
  them (Resource Graph's lower-case `type`, its standard columns, the `data` object), built here from
  the genuine ones since no public Resource Graph output of these types was found.
"""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from intake.pipeline import ingest_file, ingest_stream
from posture.errors import RejectedFile
from posture.importers.detect import detect_format
from posture.models import Subscription
from scoring.models import ReportedScore
from tests.db_state import database_state

pytestmark = pytest.mark.django_db

SCORES = Path(__file__).resolve().parent.parent / "fixtures" / "defender-score"
REST_SCORES = SCORES / "rest-securescores.json"
REST_CONTROLS = SCORES / "rest-securescorecontrols.json"
ARG = SCORES / "arg-securescores.DERIVED.json"
SUB = "20ff7fc3-e762-44dd-bd96-b71116dcdc23"


@pytest.mark.parametrize("path", [REST_SCORES, REST_CONTROLS, ARG])
def test_every_shape_is_detected_as_a_defender_score_export(path):
    assert detect_format(path.read_bytes()[:8192]) == "defender-score"


def test_genuine_rest_score_is_stored_as_reported_for_its_subscription():
    result = ingest_file(REST_SCORES)
    assert result.status == "imported", result.error
    assert result.format == "defender-score"
    assert result.counts["reported_scores"] == 1
    assert result.counts["subscriptions_created"] == 1
    score = ReportedScore.objects.get(control_key="")
    assert score.subscription == Subscription.objects.get(external_id=SUB)
    assert (score.current, score.max, score.percentage, score.weight) == (
        Decimal("23.53"),
        39,
        Decimal("0.6033"),
        67,
    )
    assert score.imported_at is not None


def test_genuine_rest_controls_are_matched_to_the_catalog():
    result = ingest_file(REST_CONTROLS)
    assert result.status == "imported", result.error
    assert result.counts["reported_controls"] == 12
    remediate = ReportedScore.objects.get(control_key="99fc8df2-e0f5-40f8-9415-a7f7ca948b5a")
    assert remediate.control is not None
    assert remediate.control.name == "Remediate security configurations"
    assert (remediate.current, remediate.max, remediate.healthy, remediate.unhealthy) == (Decimal(0), 4, 0, 1)
    transit = ReportedScore.objects.get(display_name="Encrypt data in transit")
    assert (transit.current, transit.percentage, transit.healthy, transit.unhealthy) == (
        Decimal("3.33"),
        Decimal("0.8325"),
        5,
        1,
    )


def test_resource_graph_output_reads_the_same_and_a_new_export_replaces_the_figures():
    assert ingest_file(REST_CONTROLS).status == "imported"
    first = ReportedScore.objects.get(control_key="99fc8df2-e0f5-40f8-9415-a7f7ca948b5a").imported_at
    result = ingest_file(ARG)
    assert result.status == "imported", result.error
    assert (result.counts["reported_scores"], result.counts["reported_controls"]) == (1, 12)
    assert ReportedScore.objects.count() == 13
    assert ReportedScore.objects.get(control_key="99fc8df2-e0f5-40f8-9415-a7f7ca948b5a").imported_at >= first
    assert Subscription.objects.count() == 1


def test_other_initiatives_are_counted_not_stored():
    document = json.loads(REST_SCORES.read_text())
    other = json.loads(json.dumps(document["value"][0]).replace("ascScore", "myInitiative"))
    document["value"].append(other)
    counts = ingest_stream(io.BytesIO(json.dumps(document).encode()), file_format="defender-score")
    assert counts["skipped_other_initiatives"] == 1
    assert ReportedScore.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda item: item.update(type="Microsoft.Security/assessments"), "record 2: type"),
        (lambda item: item["properties"].pop("score"), "record 2: properties.score is missing"),
        (lambda item: item["properties"]["score"].update(current="many"), "'many' is not a number"),
        (lambda item: item["properties"].update(healthyResourceCount=1.5), "is not a whole number"),
        (lambda item: item.update(id="/providers/Microsoft.Security/secureScores/x"), "not a subscription"),
    ],
)
def test_a_bad_record_rejects_the_whole_file(change, message):
    document = json.loads(REST_CONTROLS.read_text())
    change(document["value"][1])
    before = database_state()
    with pytest.raises(RejectedFile) as raised:
        ingest_stream(io.BytesIO(json.dumps(document).encode()), file_format="defender-score")
    assert message in str(raised.value)
    assert database_state() == before


def test_rest_pages_saved_together_are_read_as_one_export():
    # DERIVED: the two genuine responses saved as one JSON list of pages (as `az rest` loops write them).
    pages = [json.loads(REST_SCORES.read_text()), json.loads(REST_CONTROLS.read_text())]
    raw = json.dumps(pages).encode()
    assert detect_format(raw[:8192]) == "defender-score"
    counts = ingest_stream(io.BytesIO(raw), file_format="defender-score")
    assert (counts["reported_scores"], counts["reported_controls"]) == (1, 12)


def test_an_assessments_export_is_not_taken_for_a_score_export():
    assessments = SCORES.parent / "defender" / "rest-list-assessments.json"
    assert detect_format(assessments.read_bytes()[:8192]) == "defender"
