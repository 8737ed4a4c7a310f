"""Revoke an API key by name."""

from django.core.management.base import BaseCommand, CommandError

from apikeys.models import ApiKey
from apikeys.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by name; requests with it are refused from now on."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        key = ApiKey.objects.filter(name=name).first()
        if key is None:
            raise CommandError(f"no API key named {name!r}")
        if api_key_revoke(key=key):
            self.stdout.write(f"revoked API key {name!r}")
        else:
            self.stdout.write(f"API key {name!r} was already revoked")
