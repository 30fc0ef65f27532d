"""`manage.py create_api_token USERNAME [--label L]`: a new API token, printed once; --list; --revoke."""

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.api_tokens import issue_api_token, revoke_api_token, tokens_with_prefix
from governance.models import ApiToken
from posture.errors import UserError


class Command(BaseCommand):
    help = "Issue a REST API token for a user (the key is printed once), list tokens, or revoke one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?")
        parser.add_argument("--label", default="", help="what the token is for")
        parser.add_argument("--list", action="store_true", help="list tokens (of USERNAME, or all)")
        parser.add_argument("--revoke", metavar="PREFIX", help="revoke the token whose key starts so")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["revoke"]:
            self.revoke(options["revoke"])
        elif options["list"]:
            self.list(options["username"])
        elif options["username"]:
            self.issue(options["username"], options["label"])
        else:
            raise CommandError("name a user, or use --list or --revoke PREFIX")

    def issue(self, username: str, label: str) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        try:
            issued = issue_api_token(user=user, label=label)
        except UserError as error:
            raise CommandError(error.message) from None
        self.stdout.write(issued.key)
        self.stderr.write("Keep this key now: it is not stored and cannot be shown again.")

    def revoke(self, prefix: str) -> None:
        if len(prefix.strip()) < 6:
            raise CommandError("give at least the first 6 characters of the key (e.g. psa_AbCd)")
        found = list(tokens_with_prefix(prefix)[:2])
        if len(found) != 1:
            raise CommandError(f"{'no' if not found else 'more than one'} token starts with {prefix!r}")
        revoked = revoke_api_token(found[0])
        self.stdout.write(f"token {found[0].prefix}… {'revoked' if revoked else 'was already revoked'}")

    def list(self, username: str | None) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if username:
            tokens = tokens.filter(user__username=username)
        for token in tokens:
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.prefix}…\t{token.user.get_username()}\t{state}\tused {used}\t{token.label}"
            )
