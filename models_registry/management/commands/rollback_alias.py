"""Point a model's alias back at the version it left on its last move."""

from django.core.management.base import BaseCommand, CommandError

from models_registry import selectors
from models_registry.errors import RegistryError
from models_registry.management.alias_options import add_breaking_arguments, command_error
from models_registry.services import alias_rollback


class Command(BaseCommand):
    help = (
        "Roll a model's alias back to its version before the last move, naming that move "
        "(--move N); every worker follows within a second."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the model")
        parser.add_argument("alias", help="e.g. production")
        parser.add_argument(
            "--move",
            type=int,
            help="the id of the move to undo: the alias's last move (refused if the alias "
            "moved since; without it, the command says which move is the last)",
        )
        add_breaking_arguments(parser)

    def handle(self, *args, name, alias, move, reason, confirm_breaking, **options):
        try:
            model = selectors.model_detail(name=name)
            if move is None:
                raise CommandError(self.last_move_text(model, alias))
            done = alias_rollback(
                model=model,
                alias=alias,
                expected_move=move,
                reason=reason,
                confirm_breaking=confirm_breaking,
            )
        except RegistryError as exc:
            raise command_error(exc) from None
        breaking = "; breaks clients: confirmed" if done.breaking else ""
        self.stdout.write(
            f"{name}:{alias} rolled back from version {done.from_version.version} to version "
            f"{done.to_version.version} (move #{done.pk}, undoing #{done.rollback_of_id}: "
            f"{done.reason}{breaking})"
        )

    @staticmethod
    def last_move_text(model, alias: str) -> str:
        """Why --move is needed, and which move it would name now."""
        last = selectors.alias_last_move(model=model, alias=alias)
        if last is None:
            return f"{model.name}:{alias} has never moved: nothing to roll back"
        source = f"version {last.from_version.version}" if last.from_version else "(new alias)"
        return (
            f"name the move you undo with --move: the last move of {model.name}:{alias} is "
            f"#{last.pk} ({source} -> version {last.to_version.version}, "
            f"{last.moved_at:%Y-%m-%d %H:%M} UTC, by {last.moved_by or 'an operator'})"
        )
