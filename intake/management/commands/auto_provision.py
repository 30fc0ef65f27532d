"""`manage.py auto_provision SUBSCRIPTION (--workspace ID | --off)`: the subscription's auto-provisioning."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.agents import set_auto_provisioning
from posture.errors import UserError
from posture.models import Workspace
from posture.scope import find_subscription


class Command(BaseCommand):
    help = (
        "Turn auto-provisioning on for a subscription (its machines without an agent become "
        '"Pending agent installation", to be enrolled in the workspace given) or off.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subscription", help="a subscription's name or cloud id")
        choice = parser.add_mutually_exclusive_group(required=True)
        choice.add_argument("--workspace", help="the workspace id its machines' agents enroll in")
        choice.add_argument("--off", action="store_true", help="turn auto-provisioning off")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            subscription = find_subscription(options["subscription"])
        except UserError as error:
            raise CommandError(error.message) from None
        workspace = None
        if options["workspace"]:
            workspace = Workspace.objects.filter(workspace_id=options["workspace"]).first()
            if workspace is None:
                raise CommandError(
                    f"no workspace {options['workspace']!r} is registered (manage.py add_workspace)"
                )
        changed = set_auto_provisioning(subscription, workspace)
        if workspace is None:
            self.stdout.write(
                f"auto-provisioning off for {subscription.name}: {changed} pending machines reverted"
            )
        else:
            self.stdout.write(
                f"auto-provisioning on for {subscription.name} into {workspace.workspace_id}: "
                f"{changed} machines without an agent now pending installation"
            )
