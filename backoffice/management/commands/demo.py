"""Fill the embedded database with a living back office for a newcomer."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from backoffice.core.ops import app_hooks

DEMO_USERNAME = "admin"
# The staff the demo signs in as, each with the group of their job (the groups'
# permissions come from the apps' data migrations).
PERSONAS = (
    ("reviewer", "Reviewer", "reviews trades, reads the dashboard"),
    ("risk-manager", "Risk manager", "approves trade ideas, tunes the risk limits"),
    ("model-manager", "Model manager", "registers models, moves their aliases"),
    ("operator", "Operator", "decides quarantined spool lines"),
)
# The bot developer's key: every scope a trading bot uses.
BOT_KEY_NAME = "demo-bot"
BOT_SCOPES = "trades:write,trades:read,ideas:write,predict"


class Command(BaseCommand):
    help = "Create staff users, a bot's API key and demo records of every app (each app's demo.py)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DJANGO_DEBUG off (it creates a superuser: think twice).",
        )
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="The address the back office serves."
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "demo creates a superuser with a printed password; it runs with "
                "DJANGO_DEBUG=1 only (or --allow-production)"
            )
        now = timezone.now()  # one moment for every app's demo: one market, one history
        with transaction.atomic():
            password = self.create_staff_user()
            for label, seed in self.app_seeders():
                summary = seed(now=now)
                self.stdout.write(f"demo: {label}: {summary}")
            for label, module in app_hooks.app_modules("demo"):
                finish = getattr(module, "finish", None)
                if finish is not None:
                    self.stdout.write(f"demo: {label}: {finish(now)}")
            personas = [
                (name, job, self.create_persona(name, group)) for name, group, job in PERSONAS
            ]
            key = self.create_bot_key()
        self.print_access(options["url"], password, personas, key)

    def print_access(self, url: str, password: str, personas, key: str) -> None:
        """The block a newcomer reads last: where to go, who to sign in as, the bot's key."""
        base = url.removesuffix("admin/").rstrip("/")
        ok = self.style.SUCCESS
        self.stdout.write("")
        self.stdout.write(ok(f"Admin:    {base}/admin/"))
        self.stdout.write(ok(f"API docs: {base}/api/docs/"))
        self.stdout.write(ok(f"Username: {DEMO_USERNAME}"))
        self.stdout.write(ok(f"Password: {password}"))
        self.stdout.write("")
        self.stdout.write("Staff personas (new passwords on every run):")
        width = max(len(name) for name, _, _ in personas)
        for name, job, persona_password in personas:
            self.stdout.write(f"  {name:<{width}}  {persona_password}  {job}")
        self.stdout.write("")
        self.stdout.write(f"A trading bot's API key ({BOT_SCOPES}), shown once:")
        self.stdout.write(ok(f"  export BASE={base} KEY={key}"))

    @staticmethod
    def _fresh_password(user) -> str:
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save()
        return password

    def create_staff_user(self) -> str:
        """The demo superuser, with a fresh password on every run (printed once)."""
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "admin@example.invalid"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        return self._fresh_password(user)

    def create_persona(self, username: str, group_name: str) -> str:
        """A staff user in ``group_name`` only, with a fresh password (printed once)."""
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.invalid"}
        )
        user.is_staff = user.is_active = True
        user.is_superuser = False
        password = self._fresh_password(user)
        user.groups.set([Group.objects.get(name=group_name)])
        return password

    def create_bot_key(self) -> str:
        """A new key for the demo's bot; the previous runs' keys are revoked (a key is
        shown once, so the one printed last is the one that works)."""
        from apikeys.models import ApiKey
        from apikeys.services import api_key_create, api_key_revoke

        earlier = ApiKey.objects.filter(name__startswith=BOT_KEY_NAME)
        for key in earlier.filter(revoked_at__isnull=True):
            api_key_revoke(key=key)
        name, n = BOT_KEY_NAME, 1
        while ApiKey.objects.filter(name=name).exists():
            n += 1
            name = f"{BOT_KEY_NAME}-{n}"
        _, raw = api_key_create(name=name, scopes=BOT_SCOPES)
        return raw

    @staticmethod
    def app_seeders():
        """(label, seed) for every installed app that has a ``demo.seed()``."""
        for label, module in app_hooks.app_modules("demo"):
            yield label, module.seed
