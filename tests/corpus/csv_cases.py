"""Structural mutations of CSV exports: missing and doubled columns, bad cells, broken quoting, duplicates.

`csv_cases(seed, rng, ...)` returns named variants of one seed; names are "<family>:<detail>".
"""

import csv
import io
import random

# Cells no exporter writes: empty, padded, too long for the database, control characters, formulas.
BAD_CELLS = (
    "", " ", "x" * 301, "x" * 1001, "x" * 70_000, "\x00", "a\x00b", "=cmd|' /C calc'!A0", "line\nbreak",
    '"', "\u202e", "ÿ", "-1", "1e400", "null", "None", "\t", "\r", ";", "key=value;broken",
)  # fmt: skip
BAD_TIMES = ("2026-13-45T00:00:00Z", "2026-11-27T23:55:00", "yesterday", "11/31/2026, 6:02:11.000 AM", "0")


def _rows(seed: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(seed.decode("utf-8-sig"), newline="")))


def _write(rows: list[list[str]], terminator: str = "\n", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


def csv_cases(
    seed: bytes,
    rng: random.Random,
    *,
    enums: dict[str, tuple[str, ...]],
    cce_column: str = "",
    time_column: str = "",
    id_column: str = "",
) -> dict[str, bytes]:
    """Named variants of one CSV seed. `enums` maps a column to values outside its allowed list;
    `cce_column`, `time_column` and `id_column` name the columns holding those (when the format has them)."""
    rows = _rows(seed)
    header, body = rows[0], rows[1:]
    lowered = [c.lower() for c in header]
    cases: dict[str, bytes] = {}
    for index, column in enumerate(header):
        cases[f"missing-column:{column}"] = _write([[c for i, c in enumerate(r) if i != index] for r in rows])
        cases[f"renamed-column:{column}"] = _write([_replaced(header, index, column + "_x"), *body])
        cases[f"duplicate-column:{column}"] = _write([[*r, r[index]] for r in rows])
        cases[f"blank-header-cell:{column}"] = _write([_replaced(header, index, ""), *body])
        cases[f"shouting-header:{column}"] = _write([_replaced(header, index, column.upper()), *body])
        for value in BAD_CELLS:
            row = rng.randrange(len(body)) if body else 0
            cases[f"bad-cell:{column}={value!r:.16}"] = _write(
                [header, *(_replaced(r, index, value) if i == row else r for i, r in enumerate(body))]
            )
    for column, values in enums.items():
        if column.lower() not in lowered:
            continue
        index = lowered.index(column.lower())
        for value in values:
            cases[f"unknown-value:{column}={value!r:.20}"] = _write(
                [header, _replaced(body[0], index, value), *body[1:]]
            )
    for column, values in ((cce_column, _cces()), (time_column, BAD_TIMES)):
        if column and column.lower() in lowered:
            index = lowered.index(column.lower())
            family = "invalid-cce" if column == cce_column else "bad-time"
            for value in values:
                changed = [header, *(_replaced(r, index, value) for r in body)]
                cases[f"{family}:{value!r:.20}"] = _write(changed)
    if id_column.lower() in lowered and id_column:
        index = lowered.index(id_column.lower())
        shouted = _replaced(body[0], index, body[0][index].upper())
        cases["duplicate-rows:same-id-other-case"] = _write([header, *body, shouted])
    cases["duplicate-rows:first-twice"] = _write([header, body[0], *body])
    cases["duplicate-rows:all-twice"] = _write([header, *body, *body])
    cases["duplicate-rows:header-twice"] = _write([header, header, *body])
    cases["duplicate-rows:10000-times"] = _write([header, *[body[0]] * 10_000])
    cases["short-row:first"] = _write([header, body[0][:-1], *body[1:]])
    cases["long-row:first"] = _write([header, [*body[0], "extra"], *body[1:]])
    cases["empty:header-only"] = _write([header])
    cases["empty:blank-lines"] = b"\n\n\n"
    cases["empty:commas-only"] = b"," * len(header) + b"\n"
    cases["quoting:unterminated"] = seed.replace(b",", b',"', 1)
    cases["quoting:unterminated-last"] = seed.rstrip() + b',"never closed'
    cases["quoting:stray-quote"] = seed.replace(b",", b',a"b', 1)
    cases["quoting:quote-after-quoted"] = seed.replace(b"\n", b'\n"a"b', 1)
    cases["delimiter:semicolon"] = _write(rows, delimiter=";")
    cases["delimiter:tab"] = _write(rows, delimiter="\t")
    cases["line-endings:cr"] = _write(rows, terminator="\r")
    cases["line-endings:mixed"] = _write(rows).replace(b"\n", b"\r\n", 2)
    cases["huge-fields:100000-columns"] = _write([header + [f"c{i}" for i in range(100_000)], *body])
    cases["huge-fields:one-line-10mb"] = seed + b"x" * 10_000_000
    cases["bom:mid-file"] = seed.replace(b"\n", b"\n\xef\xbb\xbf", 1)
    return cases


def _replaced(row: list[str], index: int, value: str) -> list[str]:
    return [value if i == index else cell for i, cell in enumerate(row)]


def _cces() -> tuple[str, ...]:
    return (
        "CCE-1-1",
        "CCE-12345-67",
        "CCE-\uff18\uff10\uff19\uff10\uff11-2",
        "cce-37615-2",
        "CCE-37615-X",
        "CCE--",
        "C" * 301,
    )
