"""Keep a reference sample's feature profile as a version's drift baseline."""

from django.core.management.base import BaseCommand, CommandError

from models_registry import selectors
from models_registry.domain.profiles import ProfileError, read_reference_csv
from models_registry.errors import RegistryError
from models_registry.services import version_profile_set


class Command(BaseCommand):
    help = (
        "Set a version's feature profile (its drift baseline) from a reference sample: a "
        "CSV file with a header naming the model's features, e.g. its training data."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the model")
        parser.add_argument("version", type=int, help="the version number")
        parser.add_argument(
            "--reference",
            required=True,
            help="CSV with a header row; the columns named as the features (any order, others "
            "left out), numbers or empty cells. Parquet: convert it first "
            "(pandas.read_parquet(path).to_csv(out, index=False))",
        )

    def handle(self, *args, name, version, reference, **options):
        try:
            target = selectors.version_get(model_name=name, version=version)
            rows = read_reference_csv(reference, target.feature_names)
            version_profile_set(version=target, reference=rows, source=f"reference {reference}")
        except (RegistryError, ProfileError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{target}: feature profile of {len(rows)} reference rows kept; its drift is "
            "now measured against them"
        )
