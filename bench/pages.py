"""The pages of a fleet database bench/fleet.py left behind, timed again without rebuilding it.

    .venv/bin/python bench/pages.py                       # BENCH_DATABASE_URL's fleet
    .venv/bin/python bench/pages.py --pages dashboard,os-configuration --runs 7

It times the code of its own checkout: copied into another checkout (main before a change) and run
from there, it measures that code on the same data, so that a change is measured before and after
and, run alternately, under the same load. It prints one JSON object: each page's median, min and
max ms over --runs requests and its query count, as an admin and as the Web tower's lead.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

PAGES = {
    "dashboard": "/",
    "os-configuration": "/os-configuration/",
    "recommendation": "/recommendations/machine-config-vulns/",
    "failed-rules": "/recommendations/machine-config-vulns/?tab=rules",
    "resources": "/resources/?state=unhealthy",
    "baseline": "/baseline/",
    "my-items": "/my-items/",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/posture_bench"
    )
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("POSTURE_SECRET_KEY", "benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    figures = []
    for name in args.pages.split(","):
        for username in ("bench", "lead-web"):
            client = Client(HTTP_HOST="localhost")
            client.force_login(User.objects.get(username=username))
            client.get(PAGES[name])  # warm what is cached per process
            times = []
            for _ in range(args.runs):
                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    response = client.get(PAGES[name])
                    times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, (name, username, response.status_code)
            figures.append(
                {"page": name, "user": username, "median_ms": statistics.median(times), "min_ms": min(times),
                 "max_ms": max(times), "queries": len(queries)}
            )  # fmt: skip
    print(json.dumps({"code": str(root), "pages": figures}))


if __name__ == "__main__":
    main()
