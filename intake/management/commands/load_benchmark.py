"""`manage.py load_benchmark DATASTREAM.xml...`: load every rule of a SCAP data stream into the catalog."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.benchmarks import load_benchmark_file
from posture.errors import UserError


class Command(BaseCommand):
    help = (
        "Load the rules of SCAP data streams or XCCDF benchmarks (e.g. ssg-rhel9-ds.xml) into the rule "
        "catalog, before any scan. Idempotent; a newer version of a benchmark refreshes its rules."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        for path in options["files"]:
            try:
                summary = load_benchmark_file(path)
            except UserError as error:
                failed += 1
                self.stdout.write(f"{path}: rejected: {error.message}")
                continue
            self.stdout.write(
                f"{path}: {summary['benchmark']}: {summary['rules']} rules "
                f"({summary['rules_created']} new, {summary['rules_updated']} updated, "
                f"{summary['rules_with_cce']} with a CCE)"
            )
        if failed:
            raise CommandError(f"{failed} file(s) rejected")
