"""`manage.py ingest FILE...`: import inventory and assessment files, one summary line per file."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import trail
from intake.pipeline import IngestResult, ingest_files
from posture.importers.detect import FORMATS


class Command(BaseCommand):
    # The system checks look at the URL map, the admin and the API's settings, which importing files
    # does not use; loading them (every view, REST framework, the API's schema) cost most of a start.
    # `manage.py check` still runs them, as does every other command.
    requires_system_checks: list[str] = []
    help = (
        "Import files (format detected from content; --format forces one). Each file is all-or-nothing; "
        "many scan files are written in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--format", choices=FORMATS, dest="file_format")
        parser.add_argument("--json", action="store_true", help="one JSON object per file")
        parser.add_argument(
            "--resource", help="resource id of the machine or cluster a scan result or kubectl dump describes"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Scan results go in batches, one transaction each (see intake/pipeline.py); one file is one batch.
        results = ingest_files(
            options["files"], file_format=options["file_format"], resource=options["resource"]
        )
        for result in results:
            trail.record(
                actor=None,
                actor_name="manage.py ingest",
                action=trail.IMPORT,
                summary=f"{result.file}: {result.status} ({result.format})",
                after={"counts": result.counts, "error": result.error},
            )
            self.stdout.write(self._render(result, as_json=options["json"]))
        rejected = [r for r in results if r.status == "rejected"]
        if rejected:
            raise CommandError(f"{len(rejected)} of {len(results)} file(s) rejected: {rejected[0].error}")

    @staticmethod
    def _render(result: IngestResult, *, as_json: bool) -> str:
        if as_json:
            return json.dumps(
                {
                    "file": result.file,
                    "format": result.format,
                    "status": result.status,
                    "error": result.error,
                    # The import's own time (its share of its batch's and of the snapshot), without
                    # the process's start.
                    "seconds": round(result.seconds, 3),
                    **result.counts,
                }
            )
        if result.status == "rejected":
            return f"{result.file}: rejected: {result.error}"
        details = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in result.counts.items())
        return f"{result.file}: imported ({result.format}): {details}"
