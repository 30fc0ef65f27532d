"""`manage.py load_demo`: load the demo estate (idempotent)."""

from typing import Any

from django.core.management.base import BaseCommand

from intake.demo import load_demo


class Command(BaseCommand):
    help = "Load a believable demo estate that exercises every recommendation and status."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, counts in load_demo().items():
            details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v)
            self.stdout.write(f"demo {name}: {details or 'unchanged'}")
