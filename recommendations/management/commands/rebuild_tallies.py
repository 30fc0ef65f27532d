"""`manage.py rebuild_tallies`: recompute the finding tallies from the findings (imports keep them)."""

from typing import Any

from django.core.management.base import BaseCommand

from recommendations.models import MachineTally, RuleTally
from recommendations.tallies import rebuild_tallies


class Command(BaseCommand):
    help = "Recompute the rule and machine tallies the OS-configuration pages read, from the findings."

    def handle(self, *args: Any, **options: Any) -> None:
        rebuild_tallies()
        self.stdout.write(
            f"{RuleTally.objects.count()} rule tallies, {MachineTally.objects.count()} machine tallies"
        )
