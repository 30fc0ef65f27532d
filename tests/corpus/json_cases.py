"""Structural mutations of JSON exports: missing keys, wrong types, swapped roots, huge and deep values.

`json_cases(seed, rng, ...)` returns named variants of one seed; names are "<family>:<detail>".
"""

import json
import random
from collections.abc import Iterator
from typing import Any

Path = tuple[str | int, ...]

# Values of the wrong type or shape, put where the exporter writes something else.
WRONG_VALUES: tuple[Any, ...] = (
    None, 0, -1, 1.5, True, [], {}, "", " ", "x" * 301, [None], {"": None}, 2**70, float("nan"),
    "\u0000", "\ud800", "\udfff", "\u202e", "é", "line\nbreak", "=cmd|' /C calc'!A0", "<script>",
)  # fmt: skip
ROOTS: dict[str, Any] = {
    "empty-list": [],
    "empty-object": {},
    "null": None,
    "zero": 0,
    "string": "data",
    "true": True,
    "list-of-null": [None],
    "list-of-lists": [[]],
}


def _paths(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every path to a value inside the document, parents before children."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*path, index)
            yield from _paths(child, (*path, index))


def _clone(document: Any) -> Any:
    """A deep copy; through JSON, which is many times faster than copy.deepcopy for big documents."""
    return json.loads(json.dumps(document))


def _set(document: Any, path: Path, value: Any) -> Any:
    copied = _clone(document)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return copied


def _delete(document: Any, path: Path) -> Any:
    copied = _clone(document)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return copied


def dump(document: Any, *, ascii_only: bool = True) -> bytes:
    """JSON as exporters write it; ascii_only=False writes raw UTF-8 (lone surrogates as their bytes)."""
    # No indent: the C encoder (an indented dump is pure Python, and the corpus dumps thousands).
    text = json.dumps(document, ensure_ascii=ascii_only)
    return text.encode("utf-8", errors="surrogatepass")


def _records(document: Any) -> list[Any] | None:
    """The list of records inside a document (the root list, or the first list value of an object)."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for value in document.values():
            found = _records(value) if isinstance(value, dict) else value
            if isinstance(found, list):
                return found
    return None


def json_cases(
    seed: bytes,
    rng: random.Random,
    *,
    required: tuple[str, ...],
    enums: dict[str, tuple[str, ...]],
    samples: int = 60,
) -> dict[str, bytes]:
    """Named variants of one JSON seed. `required` are key names every record needs, `enums` the keys
    whose values come from a fixed list, with values outside it; `samples` random paths get wrong values."""
    try:
        document = json.loads(seed)
    except ValueError:
        return {}
    paths = list(_paths(document))
    cases: dict[str, bytes] = {}
    for key in required:
        found = [p for p in paths if p and p[-1] == key]
        if found:
            cases[f"deleted-key:first-{key}"] = dump(_delete(document, found[0]))
            everywhere = _clone(document)
            for path in reversed(found):
                parent = _get(everywhere, path[:-1])
                del parent[path[-1]]
            cases[f"deleted-key:every-{key}"] = dump(everywhere)
    for key, values in enums.items():
        found = [p for p in paths if p and p[-1] == key]
        for value in values if found else ():
            cases[f"unknown-value:{key}={value[:20]!r}"] = dump(_set(document, found[0], value))
    for path in rng.sample(paths, min(samples, len(paths))):
        cases[f"deleted-key:{_name(path)}"] = dump(_delete(document, path))
        value = rng.choice(WRONG_VALUES)
        cases[f"wrong-type:{_name(path)}={value!r:.20}"] = dump(_set(document, path, value))
    for value in ("\u0000", "\ud800", "x" * 1_000_000, "x" * 301):
        for path in [p for p in paths if isinstance(_get(document, p), str)][:: max(1, len(paths) // 8)]:
            cases[f"bad-string:{_name(path)}={value!r:.12}"] = dump(_set(document, path, value))
    surrogate_path = next((p for p in paths if isinstance(_get(document, p), str)), None)
    if surrogate_path is not None:
        raw = dump(_set(document, surrogate_path, "a\ud800b"), ascii_only=False)
        cases["wrong-encoding:raw-lone-surrogate"] = raw
    for name, root in ROOTS.items():
        cases[f"swapped-root:{name}"] = dump(root)
    cases["swapped-root:in-a-list"] = dump([document])
    cases["swapped-root:data-object"] = dump({"data": document})
    cases["swapped-root:list-of-documents"] = dump([document, document])
    records = _records(document)
    if records:
        cases["swapped-root:records-only"] = dump(records)
        cases["swapped-root:first-record-only"] = dump(records[0])
        cases["duplicate-records:first-twice"] = dump(_replace_records(document, [records[0], *records]))
        cases["duplicate-records:all-twice"] = dump(_replace_records(document, records + records))
        cases["duplicate-records:none"] = dump(_replace_records(document, []))
        cases["huge-fields:10k-records"] = dump(_replace_records(document, [records[0]] * 10_000))
        cases["huge-fields:100k-nulls"] = dump(_replace_records(document, [None] * 100_000))
    for depth in (100, 1_000, 100_000):
        cases[f"deep-nesting:list-{depth}"] = b"[" * depth + b"]" * depth
        cases[f"deep-nesting:object-{depth}"] = b'{"a":' * depth + b"1" + b"}" * depth
        if paths:
            nested = b"[" * depth + b"]" * depth
            marker = dump(_set(document, paths[-1], "@@NEST@@"))
            cases[f"deep-nesting:inside-{depth}"] = marker.replace(b'"@@NEST@@"', nested, 1)
    cases["deep-nesting:unclosed"] = b"[" * 200_000
    text = dump(document)
    cases["huge-fields:number-5000-digits"] = text.replace(b"[", b"[" + b"9" * 5000 + b",", 1)
    cases["huge-fields:number-1e999"] = text.replace(b"[", b"[1e999,", 1)
    cases["huge-fields:nan-literal"] = text.replace(b"[", b"[NaN,", 1)
    cases["huge-fields:many-keys"] = dump({f"k{i}": i for i in range(100_000)})
    cases["duplicate-keys:first-object"] = text.replace(b"{", b'{"duplicate": 1, "duplicate": 2,', 1)
    cases["trailing-garbage:second-document"] = text + text
    cases["trailing-garbage:comma"] = text.rstrip() + b","
    cases["yaml-instead:first-lines"] = b"apiVersion: v1\nkind: List\nitems: []\n"
    cases["comments:js-comment"] = b"// exported\n" + text
    return cases


def _replace_records(document: Any, records: list[Any]) -> Any:
    if isinstance(document, list):
        return records
    copied = _clone(document)
    target = copied
    while isinstance(target, dict):
        key = next((k for k, v in target.items() if isinstance(v, (list, dict))), None)
        if key is None:
            return copied
        if isinstance(target[key], list):
            target[key] = records
            return copied
        target = target[key]
    return copied


def _get(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


def _name(path: Path) -> str:
    return ".".join(str(step) for step in path)[-60:] or "root"
