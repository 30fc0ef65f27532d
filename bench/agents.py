"""Benchmark: the periodic agent re-evaluation (what Celery beat runs every 15 minutes) at fleet size.

    .venv/bin/python bench/agents.py --machines 10000

On a fresh PostgreSQL database (BENCH_DATABASE_URL, default posture_bench_agents: not the fleet
benchmark's posture_bench, which another benchmark may be using): an inventory of machines
with agents that reported minutes ago, a tenth of them scale-set instances; then the task's service
timed three ways: nothing changed (the usual run), every machine gone silent past the threshold (the
worst run: every health assessment rewritten), and a heartbeat's own re-evaluation of one machine.
"""

import argparse
import io
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEFAULT_URL, setup_django

os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL.rsplit("/", 1)[0] + "/posture_bench_agents")

SUBSCRIPTIONS = ["prod-eu", "prod-us", "staging", "lab", "datacenter"]
NOW = datetime.now(UTC)


def inventory_csv(machines: int) -> bytes:
    lines = ["resource_id,name,kind,os,subscription,parent_id,agent,workspace_id,last_heartbeat"]
    heartbeat = (NOW - timedelta(minutes=10)).isoformat()
    scale_sets = machines // 100
    for s in range(scale_sets):
        lines.append(f"fleet:set{s:03d},set{s:03d},vmss,linux,{SUBSCRIPTIONS[s % 5]},,,,")
    for i in range(machines):
        subscription = SUBSCRIPTIONS[i % len(SUBSCRIPTIONS)]
        if i % 10 == 9 and scale_sets:
            parent = f"fleet:set{i % scale_sets:03d}"
            kind = "vmss_instance"
        else:
            parent, kind = "", ("arc_machine" if i % 5 == 4 else "vm")
        os_name = "windows" if i % 3 == 2 else "linux"
        agent = "not_installed" if i % 17 == 0 else "installed"
        stamp = heartbeat if agent == "installed" else ""
        workspace = "ws-fleet" if agent == "installed" else ""
        lines.append(
            f"fleet:m{i:05d},m{i:05d},{kind},{os_name},{subscription},{parent},{agent},{workspace},{stamp}"
        )
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, default=10000)
    args = parser.parse_args()
    setup_django(fresh=True)
    from django.db import connection

    from intake.agents import record_heartbeat, register_workspace
    from intake.pipeline import ingest_stream
    from posture.agents import Heartbeat, issue_token
    from recommendations.evaluators.agents import evaluate_all_agents
    from recommendations.models import Assessment

    workspace, _ = register_workspace(workspace_id="ws-fleet", name="Fleet")
    start = time.perf_counter()
    ingest_stream(io.BytesIO(inventory_csv(args.machines)), file_format="inventory")
    elapsed = time.perf_counter() - start
    print(f"inventory of {args.machines} machines (agents evaluated at import): {elapsed:.1f} s")
    print(f"agent assessments: {Assessment.objects.filter(source='agent_evidence').count()}")

    start = time.perf_counter()
    evaluated = evaluate_all_agents(now=NOW)
    elapsed = time.perf_counter() - start
    print(f"periodic re-evaluation, nothing changed: {evaluated} resources in {elapsed:.2f} s")

    start = time.perf_counter()
    evaluate_all_agents(now=NOW + timedelta(hours=25))
    unresponsive = Assessment.objects.filter(reason__startswith="Agent not responsive").count()
    print(
        f"periodic re-evaluation, every agent silent for 25 h: {time.perf_counter() - start:.2f} s "
        f"({unresponsive} machines turned 'Agent not responsive')"
    )

    token = issue_token(workspace=workspace)
    connection.queries_log.clear()
    timings = []
    for i in range(50):
        start = time.perf_counter()
        record_heartbeat(
            token=token.record,
            heartbeat=Heartbeat(agent_version="1.0.0", os="linux", resource_id=f"fleet:m{i * 7:05d}"),
        )
        timings.append(time.perf_counter() - start)
    timings.sort()
    print(f"one heartbeat recorded and its machine re-evaluated: median {timings[25] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
