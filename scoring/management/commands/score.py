"""`manage.py score [--subscription NAME] [--json]`: the secure score as Defender computes it."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from posture.errors import UserError
from posture.scope import scope_for
from scoring.document import score_document
from scoring.engine import compute_score


class Command(BaseCommand):
    help = "Print the secure score of the estate or of one subscription."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subscription", help="a subscription's name or id")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            scope = scope_for(options["subscription"])
        except UserError as error:
            raise CommandError(error.message) from None
        report = compute_score(scope)
        if options["json"]:
            self.stdout.write(json.dumps(score_document(report), indent=2))
            return
        self.stdout.write(
            f"Secure score ({report.scope.label or 'all subscriptions'}): "
            f"{report.current:.2f} / {report.max} points ({report.percentage * 100:.2f} %)"
        )
        for control in report.controls:
            self.stdout.write(
                f"  {control.name:<45} {control.current:>6.2f} / {control.max:<3} "
                f"healthy {control.healthy}, unhealthy {control.unhealthy}, "
                f"not applicable {control.not_applicable}"
            )
