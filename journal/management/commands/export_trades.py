"""Export trades in the record format, streamed, for a filter."""

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from journal.models import Trade
from journal.query_filters import TradeFilter
from journal.write.exports import export_rows


class Command(BaseCommand):
    help = "Stream trades as CSV or JSON lines (to a file or stdout), for a filter."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
        parser.add_argument("--output", "-o", type=Path, help="a file (default: stdout)")
        for name in ("symbol", "strategy", "account", "side", "status", "model_version"):
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name)
        parser.add_argument("--since", help="executed_at from (ISO 8601)")
        parser.add_argument("--until", help="executed_at before (ISO 8601)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        params = {
            key: options[key]
            for key in (
                "symbol",
                "strategy",
                "account",
                "side",
                "status",
                "model_version",
                "since",
                "until",
            )
            if options.get(key)
        }
        filterset = TradeFilter(params, queryset=Trade.objects.order_by("executed_at", "id"))
        if not filterset.is_valid():
            raise CommandError(f"invalid filter: {dict(filterset.errors)}")
        bar = tqdm(
            unit=" trades",
            desc="export",
            disable=options["no_progress"],
            file=sys.stderr,
            mininterval=0.5,
        )
        output = options["output"]
        try:
            if output:
                count = self.export_to_file(filterset.qs, output, options["format"], bar.update)
            else:
                count = export_rows(filterset.qs, self.stdout._out, options["format"], bar.update)
        finally:
            bar.close()
        self.stderr.write(f"exported {count} trade(s)")

    @staticmethod
    def export_to_file(queryset, output: Path, fmt: str, progress) -> int:
        """Write beside ``output`` and rename only when every row is written: a failure
        halfway leaves no partial file (and an existing file as it was)."""
        partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
        try:
            with partial.open("w", encoding="utf-8", newline="") as handle:
                count = export_rows(queryset, handle, fmt, progress)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return count
