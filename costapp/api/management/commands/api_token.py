"""manage.py api_token USERNAME [--name NAME]: print a new API token for that user.

The token is printed once, on standard output alone, so `TOKEN=$(manage.py api_token ann)`
captures exactly it; only its hash is stored.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from costapp.api import tokens


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (shown once; only its hash is kept)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="manage.py api_token", help="what it is for")

    def handle(self, *args, username: str, name: str, **options) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist as exc:
            raise CommandError(f"no user named {username!r}") from exc
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive: a token would not work")
        try:
            issued = tokens.issue(user, name)
        except tokens.TokenError as error:
            raise CommandError(f"--{error.field}: {error.message}") from error
        self.stdout.write(issued.secret)
        self.stderr.write(f"token {issued.token.prefix}… ({issued.token.name}) for {username}")
