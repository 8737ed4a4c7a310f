"""Move spooled trades into the database, idempotently."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from journal import summary
from journal.services import ReplayBusy, get_spool, spool_replay


class Command(BaseCommand):
    help = "Replay the trade spool into the database; safe to run again and while trades arrive."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, batch_size, no_progress, **options):
        spool = get_spool()
        waiting = spool.backlog()["trades"]
        bar = tqdm(
            total=waiting,
            unit=" trades",
            desc="replay",
            disable=no_progress,
            file=self.stderr._out,
            mininterval=0.5,
        )
        try:
            result = spool_replay(batch_size=batch_size, progress=bar.update)
        except ReplayBusy as exc:
            raise CommandError(str(exc)) from None
        except DatabaseError as exc:
            raise CommandError(
                f"the database failed during the replay ({str(exc).splitlines()[0]}); "
                "what was committed stays, the rest stays spooled: run again"
            ) from None
        finally:
            bar.close()
        stored = result.stored
        self.stdout.write(
            f"replayed {result.read} spooled trade(s) from {result.files} file(s): "
            f"{stored.created} created, {stored.duplicates} already stored, "
            f"{stored.closed} closed, {result.rejected} rejected"
        )
        if result.rejected:
            self.stdout.write(f"rejected lines are kept in {spool.directory / 'rejected'}")
        if stored.created or stored.closed:
            # A replay stores in batches, each adding its own summary rows: fold them.
            summary.compact()
