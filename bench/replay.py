"""Benchmark: replaying the spool against importing the same trades (issue 14).

Generates N trades (bench.common.generate_trades), then, on a throwaway PostgreSQL
cluster migrated with the journal's migrations, times two whole processes into an empty
journal_trade:
  import_trades  ``manage.py import_trades FILE --no-progress`` (the CSV fast path)
  replay_spool   ``manage.py replay_spool --no-progress`` of the same trades, spooled
                 as the API spools them during an outage (validated records, batches of
                 1,000 appended by journal.write.spool.Spool)
Every time is the wall-clock time of the whole process, start-up included.

Target: replay_spool >= 0.5x import_trades (rows/s).

Run: .venv/bin/python -m bench.replay [--rows 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
import time
from pathlib import Path

from bench.common import REPO, BenchDatabase, generate_trades, print_table, rate, timed, verdict

TARGET = 0.5
IMPORTED = re.compile(r"\((\w+)\): (\d+) created")
REPLAYED = re.compile(r"replayed (\d+) spooled trade\(s\).*: (\d+) created")


def spool_trades(csv_path: Path, spool_dir: Path, batch: int = 1000) -> int:
    """Spool the file's trades as the API does: parse_record, then Spool.append of
    each batch's records in their JSON form."""
    from journal.domain.trade_record import parse_record
    from journal.write.spool import Spool

    spool = Spool(spool_dir)
    written = 0
    records: list[dict] = []
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            records.append(parse_record(row).as_json())
            if len(records) == batch:
                written += spool.append(records)
                records = []
    if records:
        written += spool.append(records)
    return written


def run(db: BenchDatabase, command: list[str], pattern: re.Pattern, what: str, timeout: float):
    result = timed([sys.executable, "manage.py", *command, "--no-progress"], db.env, timeout, what)
    match = pattern.search(result.stdout)
    if not match:
        raise SystemExit(f"{what}: unexpected output:\n{result.stdout[-2000:]}")
    return result.seconds, match.groups()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    rows_out = []
    ratios = []
    with BenchDatabase(name="bench_replay") as db:
        print(db.machine_facts())
        print("note: other work may share this machine; the figures are noisy")
        trades = generate_trades(db.tmp / "trades.csv", args.rows)
        print(f"generated {trades.rows:,} trades ({trades.closed:,} closed)")
        spool_dir = Path(db.env["SPOOL_DIR"])
        for round_number in range(1, args.rounds + 1):
            db.sql("TRUNCATE journal_trade")
            db.sql("CHECKPOINT")
            seconds, (method, created) = run(
                db, ["import_trades", str(trades.path)], IMPORTED, "import_trades", args.timeout
            )
            assert int(created) == args.rows, created
            import_rate = rate(args.rows, seconds)
            db.sql("TRUNCATE journal_trade")
            started = time.perf_counter()
            spooled = spool_trades(trades.path, spool_dir)
            spool_seconds = time.perf_counter() - started
            db.sql("CHECKPOINT")
            replay_seconds, (read, replay_created) = run(
                db, ["replay_spool"], REPLAYED, "replay_spool", args.timeout
            )
            assert int(read) == spooled == args.rows and int(replay_created) == args.rows
            assert db.count("journal_trade") == args.rows
            replay_rate = rate(args.rows, replay_seconds)
            ratios.append(replay_rate / import_rate)
            rows_out.append(
                (
                    f"round {round_number}",
                    f"{seconds:.1f}",
                    f"{import_rate:,.0f} ({method})",
                    f"{replay_seconds:.1f}",
                    f"{replay_rate:,.0f}",
                    f"{ratios[-1]:.2f}x",
                    f"{spool_seconds:.1f}",
                )
            )
    print(f"\n{args.rows:,} trades, rows/s = rows / wall-clock seconds of the process")
    print_table(
        ("round", "import s", "import rows/s", "replay s", "replay rows/s", "ratio", "spool s"),
        rows_out,
        (9, 9, 22, 9, 14, 7, 8),
    )
    ratio = statistics.median(ratios)
    print(
        f"replay_spool / import_trades = {ratio:.2f}x (median of {len(ratios)} rounds; "
        f"target >= {TARGET}x)  {verdict(ratio >= TARGET)}"
    )


if __name__ == "__main__":
    main()
