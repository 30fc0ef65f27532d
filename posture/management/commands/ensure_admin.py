"""`manage.py ensure_admin`: create or reset a superuser and print how to log in (used by bin/run)."""

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Create the superuser, or reset its password if it exists. The password is POSTURE_ADMIN_PASSWORD "
        "when set, a fresh random one otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="login address to print")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        password = os.environ.get("POSTURE_ADMIN_PASSWORD") or secrets.token_urlsafe(16)
        user_model = get_user_model()
        with transaction.atomic():
            lookup: dict[str, Any] = {user_model.USERNAME_FIELD: username}
            user, _ = user_model._default_manager.get_or_create(**lookup)
            user.is_active = True
            user.is_staff = True
            user.is_superuser = True
            user.set_password(password)
            user.save()
        self.stdout.write(f"Login: {options['url']}  user: {username}  password: {password}")
