"""Compile a version's trees into a native predictor (XGBoost and LightGBM), or remove it."""

from django.core.management.base import BaseCommand, CommandError

from backoffice.core.text import plain_digits as _plain_digits
from models_registry import selectors
from models_registry.compiling import (
    operator_identity,
    version_compile,
    version_uncompile,
)
from models_registry.errors import RegistryError
from models_registry.models import ModelVersion


class Command(BaseCommand):
    help = "Compile a version (XGBoost or LightGBM) with tl2cgen and gcc; workers then serve it."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the model")
        parser.add_argument("version", help="a version number, or an alias such as production")
        parser.add_argument(
            "--force",
            action="store_true",
            help="compile again a version compiled before (a new toolchain or platform)",
        )
        parser.add_argument(
            "--remove",
            action="store_true",
            help="stop serving the compiled predictor: the workers go back to the booster",
        )
        parser.add_argument(
            "--jobs", type=int, default=0, help="compiler processes (default: every core)"
        )

    def handle(self, *args, name, version, force, remove, jobs, **options):
        try:
            target = self.find(name, version)
            if remove:
                self.remove(target)
            else:
                self.compile(target, force=force, jobs=jobs)
        except RegistryError as exc:
            raise CommandError(str(exc)) from None

    @staticmethod
    def find(name: str, version: str) -> ModelVersion:
        if _plain_digits(version):
            return selectors.version_get(model_name=name, version=int(version))
        return selectors.version_get(model_name=name, alias=version)

    def compile(self, target: ModelVersion, *, force: bool, jobs: int) -> ModelVersion:
        self.stdout.write(f"compiling {target} ({target.framework}) ...")
        done = version_compile(
            version=target, compiled_by=operator_identity(), force=force, jobs=jobs
        )
        tools = ", ".join(f"{k} {v}" for k, v in sorted(done.compiled_toolchain.items()))
        self.stdout.write(
            f"compiled {done}: {done.compiled_size} bytes, sha256 {done.compiled_sha256[:12]}…, "
            f"largest difference from the booster {done.compiled_max_error:.3g} ({tools})"
        )
        self.stdout.write("workers serve it from their next resolution (SERVING_COMPILED=1)")
        return done

    def remove(self, target: ModelVersion) -> ModelVersion:
        done = version_uncompile(version=target, removed_by=operator_identity())
        self.stdout.write(f"{done} is no longer compiled: workers go back to its booster")
        return done
