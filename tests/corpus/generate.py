"""The malformed-input corpus: at least 500 distinct, deterministic broken files per importer format.

Built from the real seeds (tests/corpus/seeds.py) by the mutation families of issue 7: truncations, bit
flips, wrong encodings, compression damage, deleted required elements or keys, swapped roots (other
shapes, other formats' files), huge attributes and fields, deep nesting, entity and DTD tricks, duplicate
rule results and rows, unknown result and enum values, invalid CCE ids, 0- and 1-byte files.

`python -m tests.corpus.generate OUT_DIR` writes the corpus out as files, one folder per format.
"""

import hashlib
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tests.corpus.csv_cases import csv_cases
from tests.corpus.json_cases import json_cases
from tests.corpus.mutations import BYTE_MUTATIONS, TINY_FILES, compressions, reencodings
from tests.corpus.seeds import SEEDS
from tests.corpus.xml_cases import xml_cases

FORMATS = ("scap", "securitybaseline", "defender", "inventory", "kubernetes")
CORPUS_SIZE = 520
SEED = 7
# Random byte-level mutations made of each seed, per mutation.
BYTE_CASES_PER_SEED = 12
KUBERNETES_REQUIRED = (
    "items", "kind", "apiVersion", "metadata", "name", "namespace", "spec", "containers", "cluster", "list",
    "template", "ownerReferences",
)  # fmt: skip
# One case in DETECT_EVERY goes through format detection instead of naming its importer.
DETECT_EVERY = 5


@dataclass(frozen=True)
class Case:
    format: str
    family: str
    name: str
    data: bytes
    # True: ingest_file detects the format (as an upload without one does); False: the importer is named.
    detect: bool = False

    @property
    def file_name(self) -> str:
        digest = hashlib.sha256(self.data).hexdigest()[:12]
        return f"{self.family}-{digest}.bin"


def _structured(file_format: str, seed_name: str, seed: bytes, rng: random.Random) -> dict[str, bytes]:
    if file_format == "scap":
        return xml_cases(seed)
    if file_format == "inventory":
        return csv_cases(
            seed,
            rng,
            enums={
                "kind": ("virtual_machine", "VM ", "k8s", "vmss-instance", "x" * 100),
                "os": ("macos", "Linux2", "win", "ubuntu"),
                "power_state": ("on", "halted", "RUNNING!", "paused"),
                "agent": ("yes", "true", "installing", "unknown"),
                "parent_id": ("/subscriptions/none/virtualMachineScaleSets/missing", "web-01"),
            },
            time_column="last_heartbeat",
            id_column="resource_id",
        )
    if file_format == "securitybaseline" and seed_name.endswith(".csv"):
        return csv_cases(
            seed,
            rng,
            enums={
                "AnalyzeResult": ("Pass", "Error", "Skipped", "N/A", "Failed!"),
                "RuleSeverity": ("High", "Low", "Critical2", "sev1"),
                "BaselineType": ("MacOS", "Windows Server", "linux os x", "Container"),
            },
            cce_column="CceId",
            time_column="TimeGenerated [UTC]",
        )
    if file_format == "securitybaseline":
        return json_cases(
            seed,
            rng,
            required=("Computer", "CceId", "AnalyzeResult", "TimeGenerated", "tables", "rows", "columns"),
            enums={
                "AnalyzeResult": ("Pass", "Error", "Skipped", ""),
                "RuleSeverity": ("High", "sev1"),
                "BaselineType": ("MacOS", "Container"),
                "CceId": ("CCE-1-1", "CCE-\uff18\uff10\uff19\uff10\uff11-2", "C" * 301, ""),
            },
        )
    if file_format == "defender":
        return json_cases(
            seed,
            rng,
            required=("properties", "resourceDetails", "Id", "status", "code", "name", "displayName", "data"),
            enums={
                "code": ("Sick", "healthy ", "", "NotApplicable2", "0"),
                "type": ("microsoft.security/other", "Microsoft.Compute/virtualMachines", ""),
                "Id": ("not-a-resource-id", "/subscriptions//", "/", "/subscriptions/x/resourceGroups"),
                "statusChangeDate": ("yesterday", "2026-11-27T00:00:00", "2026-13-01T00:00:00Z"),
                "subscriptionId": ("", "x" * 301),
            },
        )
    return json_cases(
        seed,
        rng,
        required=KUBERNETES_REQUIRED,
        enums={
            "kind": ("Pod2", "", "list", "ReplicaSet"),
            "type": ("Bogus", "Localhost", ""),
            "replicas": ("three",),
            "cluster": ("unknown-cluster", "", "/subscriptions/x"),
        },
    )


def _candidates(file_format: str) -> dict[bytes, tuple[str, str]]:
    """Every distinct broken file for a format (content -> family, name), in a stable order."""
    rng = random.Random(f"{SEED}:{file_format}")
    seeds = SEEDS[file_format]()
    found: dict[bytes, tuple[str, str]] = {}

    def add(family: str, name: str, data: bytes) -> None:
        found.setdefault(data, (family, name))

    for data in TINY_FILES:
        add("tiny-file", f"{len(data)}-byte {data!r}", data)
    for seed_name, seed in seeds.items():
        for variant, data in _structured(file_format, seed_name, seed, rng).items():
            add(variant.split(":", 1)[0], f"{seed_name}/{variant}", data)
        for codec, data in reencodings(seed).items():
            add("wrong-encoding", f"{seed_name}/{codec}", data)
        for method, data in compressions(seed).items():
            add("compression", f"{seed_name}/{method}", data)
        for mutation in BYTE_MUTATIONS:
            for number in range(BYTE_CASES_PER_SEED):
                add(mutation.__name__, f"{seed_name}/{mutation.__name__}-{number}", mutation(seed, rng))
    for other in FORMATS:
        if other != file_format:
            for seed_name, seed in SEEDS[other]().items():
                add("swapped-root", f"other-format/{other}/{seed_name}", seed)
    return found


def build_corpus(file_format: str, size: int = CORPUS_SIZE) -> list[Case]:
    """`size` distinct cases, taken round-robin across the mutation families so each family is in."""
    by_family: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    for data, (family, name) in _candidates(file_format).items():
        by_family[family].append((name, data))
    chosen: list[tuple[str, str, bytes]] = []
    queues = {family: list(items) for family, items in sorted(by_family.items())}
    while len(chosen) < size and any(queues.values()):
        for family, items in queues.items():
            if items and len(chosen) < size:
                name, data = items.pop(0)
                chosen.append((family, name, data))
    return [
        Case(file_format, family, name, data, detect=index % DETECT_EVERY == DETECT_EVERY - 1)
        for index, (family, name, data) in enumerate(chosen)
    ]


def sample(cases: list[Case], count: int) -> list[Case]:
    """The first `count` cases: build_corpus's round-robin order puts every family in the first ones."""
    return cases[:count]


def main(out: Path) -> None:
    for file_format in FORMATS:
        folder = out / file_format
        folder.mkdir(parents=True, exist_ok=True)
        cases = build_corpus(file_format)
        for case in cases:
            (folder / case.file_name).write_bytes(case.data)
        families = len({case.family for case in cases})
        print(f"{file_format}: {len(cases)} cases in {families} families -> {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
