"""`manage.py scope_group NAME [--add SUB ...] [--remove SUB ...] [--delete]`: a group of subscriptions."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from posture.errors import UserError
from posture.models import SubscriptionGroup
from posture.subscription_groups import change_group, create_group, delete_group, find_subscriptions


class Command(BaseCommand):
    help = (
        "Create a group of subscriptions (scored together, like a management group: "
        "--subscription group:NAME), add or remove subscriptions, or delete it; prints what it holds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the group's name")
        parser.add_argument(
            "--add", nargs="+", action="extend", default=[], metavar="SUB", help="subscriptions by name or id"
        )
        parser.add_argument(
            "--remove",
            nargs="+",
            action="extend",
            default=[],
            metavar="SUB",
            help="subscriptions by name or id",
        )
        parser.add_argument("--delete", action="store_true", help="delete the group (its subscriptions stay)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        try:
            with transaction.atomic():
                group = SubscriptionGroup.objects.filter(name=name).first()
                if options["delete"]:
                    if options["add"] or options["remove"]:
                        raise UserError("--delete takes no --add or --remove")
                    if group is None:
                        raise UserError(f"no group named {name!r}")
                    delete_group(actor=None, group=group)
                    self.stdout.write(f"group {name} deleted")
                    return
                add = find_subscriptions(options["add"])
                remove = find_subscriptions(options["remove"])
                if group is None:
                    if remove:
                        raise UserError(f"no group named {name!r} to remove subscriptions from")
                    group = create_group(actor=None, name=name, subscriptions=add)
                    held = sorted(group.subscriptions.values_list("name", flat=True))
                    verb = "created"
                else:
                    held = change_group(actor=None, group=group, add=add, remove=remove)
                    verb = "holds"
        except UserError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"group {group.name} {verb}: {', '.join(held) or 'no subscriptions'}")
