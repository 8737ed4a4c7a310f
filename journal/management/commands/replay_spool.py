"""Move spooled trades into the database, idempotently.

Exit status: 0 when every line was stored (or already was), 2 when some lines were
quarantined (they are listed in the admin under "Quarantined spool lines"), 1 when the
replay could not run or the database failed during it.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from journal.analytics import summary
from journal.write.capture import get_spool
from journal.write.replay import ReplayBusy, spool_replay


class Command(BaseCommand):
    help = "Replay the trade spool into the database; safe to run again and while trades arrive."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, batch_size, no_progress, **options):
        spool = get_spool()
        # Counting the backlog reads every spooled line: only for the progress bar.
        waiting = None if no_progress else spool.backlog()["trades"]
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
            f"{stored.closed} closed, {result.quarantined} quarantined"
        )
        if stored.created or stored.closed:
            # A replay stores in batches, each adding its own summary rows: fold them.
            summary.compact()
        if result.quarantined:
            raise CommandError(
                f"{result.quarantined} line(s) could not be stored and were quarantined "
                f"(their bytes are in {spool.quarantine_dir}; decide them in the admin, "
                "Quarantined spool lines)",
                returncode=2,
            )
