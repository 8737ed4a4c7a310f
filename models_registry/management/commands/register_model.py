"""Register a model file as the next version of a model."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from models_registry.compiling import operator_identity, version_compile
from models_registry.errors import RegistryError
from models_registry.management.alias_options import add_breaking_arguments, command_error
from models_registry.models import Framework, Task
from models_registry.services import AUTO, model_register_file


class Command(BaseCommand):
    help = (
        "Register a model file (XGBoost JSON/UBJ, LightGBM text, scikit-learn skops, ONNX; "
        "a joblib pickle only with --trust-pickle) as a new version."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the model file")
        parser.add_argument("--name", required=True, help="the model's name (a slug)")
        parser.add_argument(
            "--framework",
            default=AUTO,
            choices=[AUTO, *Framework.values],
            help="default: from the file's name and content",
        )
        parser.add_argument(
            "--features",
            help="ordered feature names, for a model that does not carry them: f1,f2,... "
            "(name:type for int, bool or category features)",
        )
        parser.add_argument("--alias", help="move this alias (e.g. production) to the new version")
        add_breaking_arguments(parser)
        parser.add_argument("--description", default="")
        parser.add_argument("--task", choices=Task.values, help="for a new model")
        parser.add_argument("--metrics", help="a JSON object, e.g. '{\"auc\": 0.71}'")
        parser.add_argument(
            "--reference",
            help="a CSV sample of the training data (header: the feature names): its "
            "deciles are the version's drift baseline. Without it the drift stays unknown "
            "until `manage.py profile_model` is given one",
        )
        parser.add_argument(
            "--trust-pickle",
            action="store_true",
            help="accept a joblib/pickle file: loading it runs any code it holds, as the "
            "server, in every worker that serves it. Only for a file whose origin you "
            "have checked; prefer .skops or .onnx",
        )
        parser.add_argument(
            "--compile",
            action="store_true",
            help="also compile the new version's trees (XGBoost, LightGBM; needs gcc): "
            "the same as manage.py compile_model NAME VERSION",
        )

    def handle(self, *args, **options):
        metrics = self.parse_metrics(options["metrics"])
        try:
            version = model_register_file(
                path=options["path"],
                name=options["name"],
                framework=options["framework"],
                features=options["features"],
                alias=options["alias"],
                description=options["description"],
                task=options["task"],
                metrics=metrics,
                trust_pickle=options["trust_pickle"],
                reference=Path(options["reference"]) if options["reference"] else None,
                reference_source=f"reference {options['reference']}",
                confirm_breaking=options["confirm_breaking"],
                move_reason=options["reason"],
            )
        except RegistryError as exc:
            raise command_error(exc) from None
        names = ", ".join(version.feature_names)
        self.stdout.write(
            f"registered {version} ({version.framework}, {version.size} bytes, "
            f"sha256 {version.sha256[:12]}…), features: {names}"
        )
        if version.pickle_trusted:
            self.stdout.write(
                f"{version} is a pickle trusted by an operator: it runs as the server"
            )
        if options["alias"]:
            self.stdout.write(f"alias {options['alias']} -> {version}")
        if not version.feature_profile:
            self.stdout.write(
                f"{version} has no feature profile: its drift is unknown until "
                f"`manage.py profile_model {version.model.name} {version.version} --reference "
                "FILE.csv` gives it a sample of its training data"
            )
        if options["compile"]:
            self.compile(version)

    def compile(self, version) -> None:
        try:
            done = version_compile(version=version, compiled_by=operator_identity())
        except RegistryError as exc:
            raise CommandError(f"registered {version}, but it was not compiled: {exc}") from None
        self.stdout.write(
            f"compiled {done}: {done.compiled_size} bytes, sha256 {done.compiled_sha256[:12]}…, "
            f"largest difference from the booster {done.compiled_max_error:.3g}"
        )

    @staticmethod
    def parse_metrics(raw: str | None) -> dict | None:
        if not raw:
            return None
        try:
            metrics = json.loads(raw)
        except ValueError as exc:
            raise CommandError(f"--metrics is not JSON: {exc}") from None
        if not isinstance(metrics, dict):
            raise CommandError("--metrics must be a JSON object")
        return metrics
