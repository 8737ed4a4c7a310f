"""The options and refusals shared by the commands that move aliases.

move_alias, rollback_alias, register_model --alias and train_model --alias all move an
alias; a move that would break the alias's clients is refused (the services'
BreakingMove) unless the operator adds ``--confirm-breaking`` and ``--reason``.
"""

from django.core.management.base import CommandError

from models_registry.errors import BreakingMove, RegistryError


def add_breaking_arguments(parser) -> None:
    parser.add_argument(
        "--confirm-breaking",
        action="store_true",
        help="make the move even though requests the old version took fail on the new "
        "one (features removed, added, retyped or reordered); needs --reason",
    )
    parser.add_argument("--reason", default="", help="recorded with the alias move")


def command_error(exc: RegistryError) -> CommandError:
    """The refusal as the command's error, saying how to confirm a breaking move."""
    if isinstance(exc, BreakingMove):
        return CommandError(
            f"{exc} (with --confirm-breaking --reason '...' once the clients are ready)"
        )
    return CommandError(str(exc))
