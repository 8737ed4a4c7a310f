"""Set, remove or promote an alias's challenger (models_registry.challengers).

Here, beside serving's comparison, because a promotion rests on the live rows both
versions scored (serving.live.comparison.evidence_rows): fewer than MODEL_PROMOTION_MIN_ROWS
need --reason.
"""

from django.core.management.base import BaseCommand, CommandError

from models_registry import selectors
from models_registry.challengers import challenger_clear, challenger_promote, challenger_set
from models_registry.errors import NotFound, RegistryError
from models_registry.management.alias_options import add_breaking_arguments, command_error
from models_registry.models import ChallengerMode
from serving.live.comparison import evidence_rows


class Command(BaseCommand):
    help = (
        "Put a version beside an alias as its challenger (--set V --mode shadow|canary "
        "[--share 0.1]), remove it (--clear) or promote it to the alias (--promote V, the "
        "challenger's version; a promotion that breaks clients, or rests on fewer live "
        "rows than MODEL_PROMOTION_MIN_ROWS, needs --reason, and a breaking one "
        "--confirm-breaking too). Rollback: rollback_alias."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the model")
        parser.add_argument("alias", help="e.g. production")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--set", type=int, metavar="VERSION", help="the challenger version")
        action.add_argument("--clear", action="store_true", help="remove the challenger")
        action.add_argument(
            "--promote",
            type=int,
            metavar="VERSION",
            help="promote the challenger, which must be this version",
        )
        parser.add_argument("--mode", choices=ChallengerMode.values, default="shadow")
        parser.add_argument(
            "--share", type=float, default=0.0, help="canary: the share of keyed requests"
        )
        add_breaking_arguments(parser)

    def handle(self, *args, name, alias, reason, confirm_breaking, **options):
        try:
            model = selectors.model_detail(name=name)
            # An operator at the shell acts on the alias as it is now (read here); the
            # admin and the API name what their user saw. --promote names its version.
            current = selectors.alias_with_challenger(model_name=name, alias=alias)
            if current is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}", field="alias")
            if options["set"] is not None:
                version = selectors.version_get(model_name=name, version=options["set"])
                challenger_set(
                    model=model,
                    alias=alias,
                    version=version,
                    mode=options["mode"],
                    share=options["share"],
                    expected_version=current.version,
                    expected_challenger=current.challenger,
                    reason=reason,
                )
                share = (
                    f" answering {options['share']:g} of keyed requests"
                    if options["mode"] == "canary"
                    else ""
                )
                self.stdout.write(
                    f"{name}:{alias} has version {version.version} as its {options['mode']} "
                    f"challenger{share}"
                )
            elif options["clear"]:
                if current.challenger is None:
                    raise RegistryError(f"{name}:{alias} has no challenger", field="alias")
                change = challenger_clear(
                    model=model, alias=alias, expected_challenger=current.challenger, reason=reason
                )
                self.stdout.write(
                    f"{name}:{alias}'s challenger (version {change.version.version}) removed"
                )
            else:
                promoted = selectors.version_get(model_name=name, version=options["promote"])
                move = challenger_promote(
                    model=model,
                    alias=alias,
                    expected_version=current.version,
                    expected_challenger=promoted,
                    evidence_rows=evidence_rows(champion=current.version, challenger=promoted),
                    reason=reason,
                    confirm_breaking=confirm_breaking,
                )
                self.stdout.write(
                    f"{name}:{alias} promoted its challenger: version {move.from_version.version} "
                    f"-> {move.to_version.version} on {move.evidence_rows:,} live row(s) (move "
                    f"#{move.pk}; rollback_alias {name} {alias} --move {move.pk} undoes it)"
                )
        except RegistryError as exc:
            raise command_error(exc) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
