"""Point a model's alias back at the version it left on its last move."""

from django.core.management.base import BaseCommand

from models_registry import selectors
from models_registry.management.alias_options import add_breaking_arguments, command_error
from models_registry.services import RegistryError, alias_rollback


class Command(BaseCommand):
    help = (
        "Roll a model's alias back to its version before the last move; every worker "
        "follows within a second."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the model")
        parser.add_argument("alias", help="e.g. production")
        add_breaking_arguments(parser)

    def handle(self, *args, name, alias, reason, confirm_breaking, **options):
        try:
            model = selectors.model_detail(name=name)
            move = alias_rollback(
                model=model, alias=alias, reason=reason, confirm_breaking=confirm_breaking
            )
        except RegistryError as exc:
            raise command_error(exc) from None
        breaking = "; breaks clients: confirmed" if move.breaking else ""
        self.stdout.write(
            f"{name}:{alias} rolled back from version {move.from_version.version} to version "
            f"{move.to_version.version} (move #{move.pk}, undoing #{move.rollback_of_id}: "
            f"{move.reason}{breaking})"
        )
