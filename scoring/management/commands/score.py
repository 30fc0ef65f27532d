"""`manage.py score [--subscription NAME] [--json]`: the secure score as Defender computes it."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from posture.errors import UserError
from posture.scope import scope_for
from scoring.document import scope_document
from scoring.engine import compute_score
from scoring.reported import reconcile


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
            self.stdout.write(json.dumps(scope_document(scope, report), indent=2))
            return
        self.stdout.write(
            f"Secure score ({report.scope.label or 'all subscriptions'}): "
            f"{report.current:.2f} / {report.max} points ({report.percentage * 100:.2f} %)"
        )
        reconciliation = reconcile(scope, report)
        if reconciliation is not None and reconciliation.reported_current is not None:
            flag = "  DIFFERS" if reconciliation.differs else ""
            self.stdout.write(
                f"Defender reported: {reconciliation.reported_current:.2f} / {reconciliation.reported_max} "
                f"points (export imported {reconciliation.imported_at:%Y-%m-%d %H:%M} UTC){flag}"
            )
        for control in report.controls:
            self.stdout.write(
                f"  {control.name:<45} {control.current:>6.2f} / {control.max:<3} "
                f"healthy {control.healthy}, unhealthy {control.unhealthy}, "
                f"not applicable {control.not_applicable}"
            )
