"""Train XGBoost and LightGBM models on trade signals and register them."""

from django.core.management.base import BaseCommand, CommandError

from models_registry.errors import RegistryError
from models_registry.management.alias_options import add_breaking_arguments, command_error
from models_registry.training import FRAMEWORKS, SOURCES, model_train


class Command(BaseCommand):
    help = "Train small XGBoost/LightGBM models (journal or synthetic data) and register them."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="trade-outcome", help="models are <name>-<framework>")
        parser.add_argument(
            "--frameworks", default=",".join(FRAMEWORKS), help="comma-separated: xgboost,lightgbm"
        )
        parser.add_argument(
            "--source",
            default="auto",
            choices=SOURCES,
            help="auto: the journal's closed trades when there are enough, else synthetic",
        )
        parser.add_argument("--rows", type=int, default=4000, help="rows of the synthetic set")
        parser.add_argument("--rounds", type=int, default=100, help="boosting rounds")
        parser.add_argument("--depth", type=int, default=4, help="tree depth")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--features",
            help="train on these of the data's features only, in this order: f1,f2,...",
        )
        parser.add_argument("--alias", help="move this alias (e.g. production) to each new version")
        add_breaking_arguments(parser)

    def handle(self, *args, **options):
        for number in ("rows", "rounds", "depth"):
            if options[number] < 1:
                raise CommandError(f"--{number} must be at least 1")
        frameworks = tuple(f.strip() for f in options["frameworks"].split(",") if f.strip())
        try:
            versions = model_train(
                name=options["name"],
                frameworks=frameworks,
                source=options["source"],
                rows=options["rows"],
                rounds=options["rounds"],
                depth=options["depth"],
                seed=options["seed"],
                alias=options["alias"],
                features=[f.strip() for f in options["features"].split(",") if f.strip()]
                if options["features"]
                else None,
                confirm_breaking=options["confirm_breaking"],
                move_reason=options["reason"],
            )
        except RegistryError as exc:
            raise command_error(exc) from None
        for version in versions:
            m = version.metrics
            self.stdout.write(
                f"registered {version} on {m['source']} data: AUC {m['auc']}, "
                f"logloss {m['logloss']}, accuracy {m['accuracy']} "
                f"({m['holdout_rows']} holdout rows)"
                + (f"; alias {options['alias']}" if options["alias"] else "")
            )
