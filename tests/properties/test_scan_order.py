"""Property: one order of scans everywhere. Whatever order a machine's scan files arrive in, one at a
time or several in one import, and however many share one end time, the findings, the scan history,
the machine's tally and the import summaries agree with each other and with the same final state.

Files are XCCDF results from tests/scap_builder.py (generated: DERIVED), ingested as uploads are.
"""

import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.pipeline import ingest_files, ingest_stream
from posture.models import Resource
from recommendations.models import Finding, FindingState, Scan
from recommendations.models.tallies import MachineTally
from recommendations.rule_selectors import machine_scans
from tests.factories import make_resource
from tests.properties.examples import CI_IMPORTS, forgetting
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
RULES = ("a", "b", "c")
# Results whose transitions the summary counts (open / resolved / reopened); an error after a fail
# leaves a finding "not evaluated", which no summary count names.
RESULTS = ("pass", "fail", "notapplicable")

scans = st.lists(
    st.tuples(
        st.integers(0, 2),  # few distinct times: ties are the point
        st.fixed_dictionaries({rule: st.sampled_from(RESULTS) for rule in RULES}),
    ),
    min_size=2,
    max_size=5,
)


def document(number: int, when: int, results: dict[str, str]) -> bytes:
    # `number` makes each file distinct (a different hash) even when time and results are equal.
    return xccdf_result(
        host="vm-1", results=results, when=T0 + timedelta(hours=when), profile=f"xccdf_p_{number}"
    )


def state(machine: Resource) -> tuple[dict[str, str], int, int, int]:
    findings = {
        f.rule.rule_id.rpartition("_")[2]: f.state
        for f in Finding.objects.filter(resource=machine).select_related("rule")
    }
    history, _ = machine_scans(machine)
    tally = MachineTally.objects.filter(resource=machine).first()
    opened = sum(1 for s in findings.values() if s == FindingState.OPEN)
    return findings, opened, history[0].open_after, tally.open_count if tally else 0


def import_all(files: list[bytes], order: list[int], batched: bool, tmp_path) -> int:
    """Import the files in `order`; returns opened + reopened - resolved over all import summaries."""
    net = 0
    if batched:
        paths = []
        for position in order:
            path = tmp_path / f"scan-{position}.xml"
            path.write_bytes(files[position])
            paths.append(path)
        summaries = [result.counts for result in ingest_files(paths)]
    else:
        summaries = [ingest_stream(io.BytesIO(files[position]), file_format="scap") for position in order]
    for counts in summaries:
        net += counts["findings_opened"] + counts["findings_reopened"] - counts["findings_resolved"]
    return net


@CI_IMPORTS
@given(scans=scans, data=st.data())
def test_every_order_of_imports_ends_in_one_agreeing_state(scans, data, tmp_path_factory):
    files = [document(number, when, results) for number, (when, results) in enumerate(scans)]
    first_order = data.draw(st.permutations(range(len(files))))
    second_order = data.draw(st.permutations(range(len(files))))
    batched = data.draw(st.booleans())
    outcomes = []
    for order, as_batch in ((first_order, batched), (second_order, not batched)):
        with forgetting():
            machine = make_resource(name="vm-1")
            net = import_all(files, list(order), as_batch, tmp_path_factory.mktemp("scans"))
            findings, opened, history_open, tally_open = state(machine)
            # Findings, the history's newest row, the tally and the summaries say the same.
            assert opened == history_open == tally_open == net
            newest = Scan.objects.filter(resource=machine).order_by(*Scan.NEWEST_FIRST).first()
            assert newest is not None
            assert machine_scans(machine)[0][0].scan.pk == newest.pk
            outcomes.append((findings, newest.file_sha256))
    # And the same state whatever the order the files came in.
    assert outcomes[0] == outcomes[1]
