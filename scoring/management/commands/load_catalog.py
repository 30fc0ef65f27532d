"""`manage.py load_catalog [FILE]`: (re)load controls, recommendations and published baselines."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from recommendations.catalog.loader import CATALOG_PATH
from scoring.catalog import load_catalog


class Command(BaseCommand):
    help = "Load the versioned catalog of controls and recommendations (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default=str(CATALOG_PATH))

    def handle(self, *args: Any, **options: Any) -> None:
        result = load_catalog(Path(options["file"]))
        self.stdout.write(
            f"catalog {result.version}: {result.controls} controls, {result.recommendations} recommendations"
        )
        for baseline in result.baselines:
            self.stdout.write(f"baseline {baseline.benchmark_id} {baseline.version}: {baseline.rules} rules")
