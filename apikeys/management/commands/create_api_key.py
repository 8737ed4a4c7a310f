"""Create an API key and print it once, as the last line."""

from django.core.management.base import BaseCommand, CommandError

from apikeys.models import Scope
from apikeys.services import ApiKeyError, api_key_create


class Command(BaseCommand):
    help = "Create a hashed, scoped API key; the key itself is printed once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who uses the key, e.g. bot-eurusd")
        parser.add_argument(
            "--scopes", required=True, help=f"comma-separated: {', '.join(Scope.values)}"
        )

    def handle(self, *args, name, scopes, **options):
        try:
            key, raw_key = api_key_create(name=name, scopes=scopes)
        except ApiKeyError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"created API key {key.name!r} with scopes {', '.join(key.scopes)}; "
            "it is shown once, below:"
        )
        self.stdout.write(raw_key)
