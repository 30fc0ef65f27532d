"""Which of the project's modules one file entered on its way from `manage.py ingest` to the stored score.

    .venv/bin/python bench/ingest_path.py                  # the real RHEL 9 ARF of shared/data/oscap
    .venv/bin/python bench/ingest_path.py FILE [--list]    # another file; --list: the functions too

How it counts: a fresh SQLite estate (migrated, the catalog loaded), then `call_command("ingest", FILE)`
under a profiler hook on every thread (the read stage runs in one of its own). A module is entered when
one of its functions (or comprehensions) is called; module and class bodies run at import are not
counted, nor tests, migrations or installed packages.
"""

import argparse
import inspect
import io
import os
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RHEL_ARF = ROOT.parent / "shared" / "data" / "oscap" / "rhel9-stig.arf.xml.xz"
NOT_COUNTED = ("/tests/", "/migrations/", "/.venv/", "/bench/")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", nargs="?", default=str(RHEL_ARF))
    parser.add_argument("--list", action="store_true", help="name the functions entered in each module")
    args = parser.parse_args()
    os.environ["POSTURE_VAR_DIR"] = tempfile.mkdtemp(prefix="posture-path-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("POSTURE_SECRET_KEY", "benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0)
    entered: dict[str, set[str]] = defaultdict(set)
    root = str(ROOT)

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if (
            event != "call"
            or not code.co_filename.startswith(root)
            or not code.co_flags & inspect.CO_OPTIMIZED
        ):
            return
        if not any(part in code.co_filename for part in NOT_COUNTED):
            entered[os.path.relpath(code.co_filename, root)].add(code.co_name)

    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        call_command("ingest", args.file, verbosity=0, stdout=io.StringIO())
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    by_app: dict[str, int] = defaultdict(int)
    for module in sorted(entered):
        by_app[module.split("/")[0]] += 1
        if args.list:
            print(f"{module}: {', '.join(sorted(entered[module]))}")
    functions = sum(len(names) for names in entered.values())
    print(
        f"{len(entered)} modules, {functions} functions: "
        + ", ".join(f"{app} {n}" for app, n in sorted(by_app.items()))
    )


if __name__ == "__main__":
    main()
