"""Fill the embedded database with a living back office for a newcomer."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from backoffice import app_hooks

DEMO_USERNAME = "admin"


class Command(BaseCommand):
    help = "Create a staff user and demo records of every app (each app's demo.py)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DJANGO_DEBUG off (it creates a superuser: think twice).",
        )
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/admin/", help="Admin URL to print."
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "demo creates a superuser with a printed password; it runs with "
                "DJANGO_DEBUG=1 only (or --allow-production)"
            )
        with transaction.atomic():
            password = self.create_staff_user()
            for label, seed in self.app_seeders():
                summary = seed()
                self.stdout.write(f"demo: {label}: {summary}")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Admin:    {options['url']}"))
        self.stdout.write(self.style.SUCCESS(f"Username: {DEMO_USERNAME}"))
        self.stdout.write(self.style.SUCCESS(f"Password: {password}"))

    def create_staff_user(self) -> str:
        """The demo superuser, with a fresh password on every run (printed once)."""
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "admin@example.invalid"}
        )
        password = secrets.token_urlsafe(12)
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        return password

    @staticmethod
    def app_seeders():
        """(label, seed) for every installed app that has a ``demo.seed()``."""
        for label, module in app_hooks.app_modules("demo"):
            yield label, module.seed
