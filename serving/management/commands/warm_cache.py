"""Check and load every aliased version, and tell the running workers to warm up."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from serving.predict.hotswap import announce_warm
from serving.predict.runtime import current


class Command(BaseCommand):
    help = "Load (and hash-check) the versions behind the warm aliases; workers warm too."

    def add_arguments(self, parser):
        parser.add_argument(
            "--alias",
            action="append",
            help="an alias to warm (repeatable); default: SERVING_WARM_ALIASES",
        )

    def handle(self, *args, **options):
        aliases = options["alias"] or list(settings.SERVING_WARM_ALIASES)
        report = current().warm(aliases)
        if not report:
            self.stdout.write(f"no model has an alias among: {', '.join(aliases)}")
        for row in report:
            where = f"{row['model']}@{row['version']} ({row['alias']})"
            if row["loaded"]:
                self.stdout.write(
                    f"ok      {where} loaded in {row['load_ms']} ms ({row['predictor']})"
                )
                if row.get("compiled_refused"):
                    self.stdout.write(f"WARNING {where}: {row['compiled_refused']}")
            else:
                self.stdout.write(f"FAILED  {where}: {row['error']}")
        told = announce_warm(model=None, alias=None, version=None, aliases=aliases)
        self.stdout.write(
            "running workers warm up in the background at their next request"
            if told
            else "the shared cache is unreachable: running workers warm on their next start"
        )
        failed = [row for row in report if not row["loaded"]]
        if failed:
            raise CommandError(f"{len(failed)} of {len(report)} aliased version(s) failed to load")
