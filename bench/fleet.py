"""Benchmark: a synthetic fleet on PostgreSQL — ingest rate, then server time of the pages at that size.

    .venv/bin/python bench/fleet.py load --machines 10000     # recreate posture_bench and import the fleet
    .venv/bin/python bench/fleet.py pages                     # time the pages against the loaded fleet

The fleet: machines spread over five subscriptions, each scanned once with the RHEL 9 STIG rule set of
the real scan in shared/data/oscap (496 evaluated rules a machine, ~37 % of pass/fail rules failing),
imported one scan file at a time through the same service as `manage.py ingest`.
"""

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SHARED, setup_django
from bench.fleet_data import BASE, machine_scan, real_rule_results

ARF = SHARED / "data" / "oscap" / "rhel9-stig.arf.xml.xz"
SUBSCRIPTIONS = ["prod-eu", "prod-us", "staging", "lab", "datacenter"]


def inventory_csv(machines: int) -> bytes:
    lines = ["resource_id,name,kind,os,subscription,agent"]
    for i in range(machines):
        kind = "arc_machine" if i % 5 == 4 else "vm"
        lines.append(
            f"fleet:m{i:05d},m{i:05d},{kind},linux,{SUBSCRIPTIONS[i % len(SUBSCRIPTIONS)]},installed"
        )
    return ("\n".join(lines) + "\n").encode()


def load(machines: int) -> None:
    setup_django(fresh=True)
    from django.core.management import call_command

    from posture.ingest import ingest_stream

    rules = real_rule_results(ARF)
    call_command("load_benchmark", str(ARF))
    start = time.perf_counter()
    ingest_stream(io.BytesIO(inventory_csv(machines)), file_format="inventory")
    print(f"inventory of {machines} machines: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()

    for i in range(machines):
        document = machine_scan(rules, f"m{i:05d}", i, BASE)
        ingest_stream(io.BytesIO(document), file_format="scap")
        if (i + 1) % 1000 == 0:
            elapsed = time.perf_counter() - start
            print(
                f"{i + 1} scans, {elapsed:.0f} s, {(i + 1) * len(rules) / elapsed:,.0f} rule results/s",
                flush=True,
            )
    elapsed = time.perf_counter() - start
    print(
        f"fleet: {machines} scans x {len(rules)} rule results in {elapsed:.0f} s = "
        f"{machines * len(rules) / elapsed:,.0f} rule results/s, {elapsed / machines * 1000:.0f} ms a scan"
    )


PAGES = [
    ("dashboard", "/"),
    ("OS-configuration overview", "/os-configuration/"),
    ("rule page (CCE-83450-7)", "rule:CCE-83450-7"),
    ("resource page (m00042)", "resource:fleet:m00042"),
    ("baseline", "/baseline/"),
    ("resource list, unhealthy", "/resources/?state=unhealthy"),
]


def pages(runs: int) -> None:
    setup_django(fresh=False)
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from posture.models import Resource
    from recommendations.models import Finding, Rule

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    print(f"fleet: {Resource.objects.count()} resources, {Finding.objects.count():,} findings")
    print(f"{'page':<32} {'median ms':>10} {'max ms':>8} {'queries':>8}")
    for label, target in PAGES:
        if target.startswith("rule:"):
            target = f"/rules/{Rule.objects.get(key=target[5:]).pk}/"
        elif target.startswith("resource:"):
            target = f"/resources/{Resource.objects.get(resource_id=target[9:]).pk}/"
        times = []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(target)
                times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{target}: HTTP {response.status_code}")
        print(f"{label:<32} {statistics.median(times):>10.0f} {max(times):>8.0f} {len(queries):>8}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="phase", required=True)
    load_parser = sub.add_parser("load")
    load_parser.add_argument("--machines", type=int, default=10_000)
    pages_parser = sub.add_parser("pages")
    pages_parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.phase == "load":
        load(args.machines)
    else:
        pages(args.runs)


if __name__ == "__main__":
    main()
