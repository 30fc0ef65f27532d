"""The read stage hands scan files over in batches bounded by rule results and by content, so the
writer gets a batch while the next is read, and a batch of real ARFs (megabytes of OVAL evidence for a
few hundred results) is never held whole."""

import lzma
from pathlib import Path

import pytest

from intake import reading
from intake.reading import Source, read_batches
from tests.scans import OSCAP

RHEL = OSCAP / "rhel9-stig.arf.xml.xz"  # shared/data/oscap: real oscap 1.3 ARFs (see its README)
DEBIAN = OSCAP / "debian-anssi-high.arf.xml.xz"


def test_a_batch_ends_at_its_content_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "debian.arf.xml"
    plain.write_bytes(lzma.decompress(DEBIAN.read_bytes()))
    debian_size = plain.stat().st_size  # 8,275,551 bytes for 355 results
    monkeypatch.setattr(reading, "BATCH_BYTES", debian_size + 1)
    sources = [Source(name=p.name, path=p) for p in (RHEL, plain, DEBIAN, plain)]
    batches = list(read_batches(sources, frozenset()))
    # The compressed RHEL file holds 30 MB: a batch alone. Two Debian files pass the bound together.
    assert [[read.source.name for read in batch] for batch in batches] == [
        [RHEL.name],
        [plain.name, DEBIAN.name],
        [plain.name],
    ]
    sizes = [read.size for batch in batches for read in batch]
    assert sizes == [len(lzma.decompress(RHEL.read_bytes())), debian_size, debian_size, debian_size]
    # Results alone would have made one batch of all four (2,413 results < 100,000).
    assert sum(read.weight for batch in batches for read in batch) < reading.BATCH_RESULTS
