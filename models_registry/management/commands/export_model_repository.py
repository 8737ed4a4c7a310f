"""Export the aliased models to a Triton model repository and KServe InferenceServices."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from models_registry.artifacts.export import ExportError, model_repository_export


class Command(BaseCommand):
    help = (
        "Write DIR/triton (a Triton model repository: FIL for XGBoost and LightGBM, ONNX "
        "Runtime for ONNX) and DIR/kserve (an InferenceService per model) for an alias."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="where to write (created if absent)")
        parser.add_argument("--alias", default="production", help="the version to serve")
        parser.add_argument(
            "--storage-uri",
            help="where DIR will be copied for KServe (s3://..., gs://..., pvc://...)",
        )

    def handle(self, *args, directory, alias, storage_uri, **options):
        try:
            report = model_repository_export(
                directory=directory, alias=alias, storage_uri=storage_uri
            )
        except (ExportError, OSError) as exc:
            raise CommandError(str(exc)) from None
        for item in report:
            if item.path is None:
                self.stdout.write(
                    f"skipped {item.model}@{item.version} ({item.framework}): {item.reason}"
                )
            else:
                self.stdout.write(f"exported {item.model}@{item.version} ({item.framework})")
        exported = sum(item.path is not None for item in report)
        self.stdout.write(f"{exported} model(s) in {Path(directory).resolve()}/triton")
