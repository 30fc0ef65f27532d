"""Benchmark: the findings CSV export against PostgreSQL's own COPY TO of the same rows.

    .venv/bin/python bench/export.py                  # recreate the database, 1,000,000 findings, measure
    .venv/bin/python bench/export.py --measure-only   # measure again against the loaded database

The database is BENCH_DATABASE_URL, by default posture_bench_export (dropped and created again: not the
fleet benchmark's posture_bench, which another benchmark may be using, and never `posture`).
10,000 machines x 100 rules = 1,000,000 open findings, generated with one INSERT ... SELECT; every
machine has an OS-configuration item (half of them a team's, with an owner), and 10,000 findings an
item of their own. Each measurement runs in a fresh process, so its peak RSS is the export's alone; the
two sides alternate (--runs of each, default 5) and the best run of each counts:
- export: GET /api/v1/findings/export.csv?severity=all through Django's test client, as an admin,
  reading the streamed response to the end;
- COPY: `COPY (SELECT ...) TO STDOUT WITH CSV` of the same rows and columns (governance by LEFT JOINs).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEFAULT_URL, peak_rss_mb, setup_django

os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL.rsplit("/", 1)[0] + "/posture_bench_export")

MACHINES = 10_000
RULES = 100

FINDINGS_SQL = """
INSERT INTO recommendations_finding
    (resource_id, rule_id, state, result, severity, expected, actual, first_seen, last_seen, updated_at)
SELECT r.id, u.id, 'open', 'fail', u.severity, 'expected ' || u.id, 'actual ' || r.id || '/' || u.id,
       now() - interval '30 days', now(), now()
FROM posture_resource r CROSS JOIN recommendations_rule u
WHERE r.kind IN ('vm', 'arc_machine') AND u.key LIKE 'BENCH-%'
"""

# The export's rows and columns, for COPY: the same joins the export reads, governance joined in.
COPY_SQL = """
COPY (
SELECT r.name, r.resource_id, s.name, r.resource_group, u.os, u.cce, u.title, u.rule_type, u.severity,
       COALESCE(NULLIF(f.expected, ''), u.expected), f.actual, f.state, f.first_seen, f.last_seen,
       COALESCE(ft.name, mt.name), COALESCE(fa.owner, ma.owner), COALESCE(fa.due_date, ma.due_date),
       COALESCE(fa.status, ma.status), 'http://localhost/resources/' || r.id || '/?state=' || f.state
FROM recommendations_finding f
JOIN posture_resource r ON r.id = f.resource_id
JOIN posture_subscription s ON s.id = r.subscription_id
JOIN recommendations_rule u ON u.id = f.rule_id
LEFT JOIN governance_assignment fa ON fa.finding_id = f.id
LEFT JOIN governance_team ft ON ft.id = fa.team_id
LEFT JOIN recommendations_assessment ma_a ON ma_a.resource_id = r.id AND ma_a.recommendation_id = %s
LEFT JOIN governance_assignment ma ON ma.assessment_id = ma_a.id AND ma.finding_id IS NULL
LEFT JOIN governance_team mt ON mt.id = ma.team_id
WHERE f.state = 'open'
ORDER BY f.resource_id, f.rule_id
) TO STDOUT WITH CSV
"""


def load() -> None:
    setup_django(fresh=True)
    from datetime import date, timedelta

    from django.db import connection
    from django.utils import timezone

    from governance.models import Assignment, Team
    from posture.models import Resource, Subscription
    from recommendations.models import Assessment, Finding, Recommendation, Rule

    start = time.perf_counter()
    now = timezone.now()
    subscriptions = Subscription.objects.bulk_create([Subscription(name=f"sub-{i}") for i in range(5)])
    Resource.objects.bulk_create(
        [
            Resource(
                resource_id=f"bench:m{i:05d}",
                resource_key=f"bench:m{i:05d}",
                name=f"m{i:05d}",
                kind="vm" if i % 5 else "arc_machine",
                os="linux",
                subscription=subscriptions[i % 5],
                resource_group=f"rg-{i % 20}",
                tags={"env": "prod" if i % 2 else "test"},
            )
            for i in range(MACHINES)
        ],
        batch_size=2000,
    )
    severities = ["critical", "high", "medium", "low"]
    Rule.objects.bulk_create(
        [
            Rule(
                key=f"BENCH-{i:03d}",
                cce=f"CCE-{80000 + i}-1",
                rule_id=f"xccdf_bench_rule_{i}",
                # A tenth of the titles look like formulas, so neutralisation is part of the work.
                title=f"=rule {i}" if i % 10 == 0 else f"Ensure setting {i} is configured",
                severity=severities[i % 4],
                rule_type=["SSH", "Audit", "Kernel", "Files"][i % 4],
                os="linux",
                expected=f"value {i}",
            )
            for i in range(RULES)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(FINDINGS_SQL)
    machine_key = Recommendation.objects.get(key="machine-config-vulns")
    machines = list(Resource.objects.order_by("pk"))
    assessments = Assessment.objects.bulk_create(
        [
            Assessment(
                resource=m,
                recommendation=machine_key,
                status="unhealthy",
                first_evaluated=now,
                status_changed=now,
                source="bench",
            )
            for m in machines
        ],
        batch_size=2000,
    )
    teams = Team.objects.bulk_create([Team(name=f"tower-{i}") for i in range(4)])
    due = date.today() + timedelta(days=14)
    items = [
        Assignment(
            assessment=a,
            team=teams[i % 4] if i % 2 else None,
            owner=f"owner{i}@example.com" if i % 2 else "",
            first_detected=now,
            due_date=due,
        )
        for i, a in enumerate(assessments)
    ]
    own = Finding.objects.filter(rule__key="BENCH-007").order_by("pk")
    by_machine = {a.resource_id: a for a in assessments}
    items += [
        Assignment(
            assessment=by_machine[f.resource_id],
            finding=f,
            team=teams[0],
            owner="finding@example.com",
            status="in_progress",
            first_detected=now,
            due_date=due,
        )
        for f in own
    ]
    Assignment.objects.bulk_create(items, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"loaded {Resource.objects.count():,} machines, {Finding.objects.count():,} findings, "
        f"{Assignment.objects.count():,} items in {time.perf_counter() - start:.1f} s",
        flush=True,
    )


def measure_export() -> dict[str, float]:
    setup_django(fresh=False)
    from django.contrib.auth.models import User
    from django.test import Client

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    start = time.perf_counter()
    response = client.get("/api/v1/findings/export.csv?severity=all")
    assert response.status_code == 200, response.status_code
    size = lines = 0
    for chunk in response.streaming_content:  # type: ignore[attr-defined]
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    elapsed = time.perf_counter() - start
    return {"rows": lines - 1, "seconds": elapsed, "bytes": size, "rss_mb": peak_rss_mb()}


def measure_copy() -> dict[str, float]:
    setup_django(fresh=False)
    from django.db import connection

    from recommendations.models import Recommendation

    key = Recommendation.objects.get(key="machine-config-vulns").pk
    start = time.perf_counter()
    size = rows = 0
    with connection.cursor() as cursor, cursor.copy(COPY_SQL.replace("%s", str(int(key)))) as copy:
        # As little as a client can do: PostgreSQL sends a COPY TO row as one message, which psycopg
        # reads straight from libpq's buffer (psql -o /dev/null is no faster: the database is the limit).
        while chunk := copy.read():
            size += len(chunk)
            rows += 1
    elapsed = time.perf_counter() - start
    return {"rows": rows, "seconds": elapsed, "bytes": size, "rss_mb": peak_rss_mb()}


def in_subprocess(phase: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", phase], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def report(runs: int) -> dict[str, float]:
    # Alternated, so that both sides meet the same load of a shared machine; the best run of each counts.
    copies, exports = [], []
    for _ in range(runs):
        copies.append(in_subprocess("copy"))
        exports.append(in_subprocess("export"))
    print(
        "runs, seconds: COPY TO",
        [round(r["seconds"], 2) for r in copies],
        "export",
        [round(r["seconds"], 2) for r in exports],
    )
    copy = min(copies, key=lambda r: r["seconds"])
    export = min(exports, key=lambda r: r["seconds"])
    print(f"{'':<10} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'MB':>7} {'peak RSS MB':>12}")
    for label, run in (("COPY TO", copy), ("export", export)):
        rate = run["rows"] / run["seconds"]
        print(
            f"{label:<10} {run['rows']:>10,.0f} {run['seconds']:>8.2f} {rate:>10,.0f} "
            f"{run['bytes'] / 2**20:>7.0f} {run['rss_mb']:>12.0f}"
        )
    ratio = (export["rows"] / export["seconds"]) / (copy["rows"] / copy["seconds"])
    print(
        f"export / COPY TO: {ratio:.0%} (target >= 50 %); export peak RSS {export['rss_mb']:.0f} MB (< 200)"
    )
    return {
        "rows": export["rows"],
        "export_rate": export["rows"] / export["seconds"],
        "copy_rate": copy["rows"] / copy["seconds"],
        "export_rss_mb": export["rss_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--measure-only", action="store_true")
    parser.add_argument("--runs", type=int, default=5, help="runs of each side (default 5)")
    parser.add_argument("--phase", choices=("copy", "export"), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="last line: the figures as JSON (bench/fleet.py)")
    args = parser.parse_args()
    if args.phase == "copy":
        print(json.dumps(measure_copy()))
    elif args.phase == "export":
        print(json.dumps(measure_export()))
    else:
        if not args.measure_only:
            load()
        figures = report(args.runs)
        if args.json:
            print(json.dumps(figures))


if __name__ == "__main__":
    main()
