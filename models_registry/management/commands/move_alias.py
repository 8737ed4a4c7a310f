"""Point a model's alias at one of its versions (a promotion or a rollback)."""

from django.core.management.base import BaseCommand

from models_registry import selectors
from models_registry.errors import RegistryError
from models_registry.management.alias_options import add_breaking_arguments, command_error
from models_registry.services import alias_move


class Command(BaseCommand):
    help = (
        "Move a model's alias (e.g. production) to a version; every worker follows within a second."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the model")
        parser.add_argument("alias", help="e.g. production")
        parser.add_argument("version", type=int, help="the version number")
        add_breaking_arguments(parser)

    def handle(self, *args, name, alias, version, reason, confirm_breaking, **options):
        try:
            target = selectors.version_get(model_name=name, version=version)
            move = alias_move(
                model=target.model,
                alias=alias,
                version=target,
                reason=reason,
                confirm_breaking=confirm_breaking,
            )
        except RegistryError as exc:
            raise command_error(exc) from None
        if move is None:
            self.stdout.write(f"{name}:{alias} already points at version {version}")
            return
        source = f"version {move.from_version.version}" if move.from_version else "(new alias)"
        breaking = " (breaks clients: confirmed)" if move.breaking else ""
        self.stdout.write(f"{name}:{alias} moved from {source} to version {version}{breaking}")
