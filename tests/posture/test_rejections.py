"""Rejections say what the file looked like, and JSON outside the standard is refused with its place.

tests/fixtures/lookalikes/*.head are the first 4 KB of GENUINE files of other tools, from
github.com/mitre/heimdall2 (Apache-2.0), commit 2e4a8bec1e4d539f2f55e3adfca07f31f829acb2,
libs/hdf-converters/sample_jsons/:
- sarif_input.sarif.head: sarif_mapper/sample_input_report/sarif_input.sarif (a SARIF 2.1.0 log);
- dropwizard-vulns.json.head: cyclonedx_sbom_mapper/sample_input_report/dropwizard-vulns.json (CycloneDX);
- SPDXJSONExample-v2.2.spdx.json.head: cyclonedx_sbom_mapper/sample_input_report/ (SPDX's own example);
- anchore_grype.json.head: anchore_grype_mapper/sample_input_report/anchore_grype.json (Grype);
- sample.nessus.head: nessus_mapper/sample_input_report/sample.nessus (Nessus);
- small_ckl_overrides.ckl.head: checklist_mapper/sample_input_report/small_ckl_overrides.ckl (STIG Viewer).
Detection reads a file's first 8 KB, and an XML file is refused at its root element, so a file's head is
what decides. The Trivy, kube-bench, Wazuh and DefectDojo snippets below are DERIVED from those tools'
documented output fields (no genuine file was copied).
"""

import io
import json
from pathlib import Path

import pytest

from intake.pipeline import ingest_file, ingest_stream
from posture.errors import RejectedFile
from posture.importers.detect import detect_format
from posture.importers.json_input import parse_json
from posture.models import Resource
from recommendations.models import Assessment

pytestmark = pytest.mark.django_db

LOOKALIKES = Path(__file__).resolve().parent.parent / "fixtures" / "lookalikes"
GENUINE = [
    ("sarif_input.sarif.head", "a SARIF log (static analysis results)"),
    ("dropwizard-vulns.json.head", "a CycloneDX SBOM"),
    ("SPDXJSONExample-v2.2.spdx.json.head", "an SPDX SBOM"),
    ("anchore_grype.json.head", "a Grype report"),
    ("sample.nessus.head", "a Nessus scan (.nessus)"),
    ("small_ckl_overrides.ckl.head", "a DISA STIG Viewer checklist (.ckl)"),
]
DERIVED = [
    (
        b'{"SchemaVersion": 2, "ArtifactName": "alpine:3.18", "ArtifactType": "container_image"}',
        "a Trivy report",
    ),
    (b'{"Controls": [{"id": "1", "text": "Control Plane", "node_type": "master"}]}', "a kube-bench report"),
    (b'{"data": {"affected_items": [{"policy_id": "cis_debian10"}]}, "error": 0}', "a Wazuh API response"),
    (
        b'{"count": 1, "results": [{"title": "x", "test": 3, "found_by": [1]}]}',
        "a DefectDojo findings export",
    ),
]


@pytest.mark.parametrize(("name", "what"), GENUINE)
def test_a_genuine_file_of_another_tool_is_named(name, what, tmp_path):
    path = tmp_path / name.removesuffix(".head")
    path.write_bytes((LOOKALIKES / name).read_bytes())
    result = ingest_file(path)
    assert result.status == "rejected"
    assert result.error == f"looks like {what}, which Posture does not read yet"
    assert result.format in (None, "scap")  # never another format's label


@pytest.mark.parametrize(("head", "what"), DERIVED)
def test_other_tools_json_is_named_before_any_reader_runs(head, what):
    with pytest.raises(RejectedFile, match=f"^looks like {what}"):
        detect_format(head)


def test_our_own_formats_are_not_mistaken_for_lookalikes():
    fixtures = LOOKALIKES.parent
    for path in [*fixtures.glob("defender/*"), *fixtures.glob("kubernetes/*.json")]:
        assert detect_format(path.read_bytes()[:8192]) in ("defender", "kubernetes"), path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'[\n {"name": "x",\n  "score": NaN}\n]',
            "not valid JSON: NaN is not a JSON number at line 3, column 12",
        ),
        (b'{"value": [1, -Infinity]}', "not valid JSON: -Infinity is not a JSON number at line 1, column 15"),
        (
            b'{"value": [\n {"name": "a", "properties": {},\n  "name": "b"}]}',
            "not valid JSON: the key 'name' appears twice in one object at line 3, column 3",
        ),
    ],
)
def test_json_outside_the_standard_is_refused_with_its_place(content, message):
    with pytest.raises(RejectedFile) as error:
        ingest_stream(io.BytesIO(content), file_format="defender")
    assert error.value.message == message
    assert not Assessment.objects.exists()
    assert not Resource.objects.exists()


def test_a_repeated_key_inside_a_string_or_other_objects_is_fine():
    document = {"a": {"k": 1}, "b": {"k": 2}, "c": '{"k": 1, "k": 2} NaN'}
    assert parse_json(json.dumps(document).encode()) == document
