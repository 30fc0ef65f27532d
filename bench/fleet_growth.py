"""How each page grows with the fleet: two runs of bench/fleet.py (--json-out) side by side.

.venv/bin/python bench/fleet.py --machines 1000 --skip-export --json-out small.json
.venv/bin/python bench/fleet.py --machines 10000 --skip-export --json-out big.json
.venv/bin/python bench/fleet_growth.py small.json big.json
"""

import json
import sys
from pathlib import Path


def main() -> None:
    small, big = (json.loads(Path(name).read_text()) for name in sys.argv[1:3])
    sizes = f"{small['machines']:,} / {big['machines']:,} machines"
    print(f"| page ({sizes}) | ms, median of 7 | min ms | queries | growth | < 200 ms | within 1.5x |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    before = {page["page"]: page for page in small["pages"]}
    for page in big["pages"]:
        first = before[page["page"]]
        growth = page["median_ms"] / first["median_ms"]
        print(
            f"| {page['page']} | {first['median_ms']:.0f} / {page['median_ms']:.0f} "
            f"| {first['min_ms']:.0f} / {page['min_ms']:.0f} | {first['queries']} / {page['queries']} "
            f"| {growth:.2f}x | {'yes' if page['median_ms'] < 200 else '**no**'} "
            f"| {'yes' if growth <= 1.5 else '**no**'} |"
        )
    for run in (small, big):
        ingest, parse, arf = run["ingest"], run["bare_parse"], run["real_arf"]
        print(
            f"\n{run['machines']:,} machines: ingest {ingest['rate']:,.0f} rule results/s, bare parse of the "
            f"same files {parse['rate']:,.0f}/s ({ingest['rate'] / parse['rate']:.1%}); real ARF as one more "
            f"machine {arf['import_seconds']:.3f} s, its bare parse {arf['parse_seconds']:.3f} s "
            f"({arf['import_seconds'] / arf['parse_seconds']:.2f}x)"
        )


if __name__ == "__main__":
    main()
