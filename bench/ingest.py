"""Benchmark: importing trades (issue 3, item 7a).

Generates N trades as a CSV file in the trade record format and times, on a throwaway
PostgreSQL cluster migrated with the project's migrations:
  import_trades  ``manage.py import_trades FILE --no-progress``: the real command, in its
                 own process, into an empty journal_trade (the generated file is in the
                 plain spelling, so the fast path of journal/write/fast_import.py: COPY as
                 text, rules checked in SQL, INSERT ... ON CONFLICT DO NOTHING)
  re-import      the same command on the same file again: the idempotent path (0 created)
  bulk_create    a naive Django importer in its own process: csv.DictReader, parse_record,
                 Trade(...) objects, ``bulk_create(batch_size=5000)``, one transaction,
                 into an emptied (TRUNCATE) journal_trade; on a subset when N is large
                 (--bulk-rows), its rows/s then stands for the whole file
  raw COPY       ``psql \\copy`` of the same file into an unindexed plain table with the
                 same columns and types, on the same server
  COPY ceiling   ``psql \\copy`` of the same file straight into a copy of journal_trade
                 with its 8 indexes (no validation, not idempotent): the most any
                 importer into journal_trade could reach on this server
Every time is the wall-clock time of the whole process (Python and Django start-up,
reading, validating, writing, commit), as an operator sees it.

Targets: import_trades >= 0.5x raw COPY and >= 5x bulk_create (rows/s).

Run: .venv/bin/python -m bench.ingest [--rows 1000000] [--bulk-rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

from bench.common import (
    FIELDS,
    REPO,
    BenchDatabase,
    generate_trades,
    parse_settings,
    print_table,
    rate,
    raw_table_sql,
    timed,
    verdict,
)

RAW_TABLE = "bench_trade_raw"
CEILING_TABLE = "bench_trade_ceiling"
# journal_trade's columns, defaults, checks and 8 indexes; status computed from closed_at
# (the file has no status column), its check dropped with it.
CEILING_SQL = f"""
    CREATE TABLE {CEILING_TABLE} (LIKE journal_trade INCLUDING ALL);
    ALTER TABLE {CEILING_TABLE} ALTER COLUMN recorded_at SET DEFAULT now(),
        DROP COLUMN status CASCADE,
        ADD COLUMN status varchar(6) GENERATED ALWAYS AS
            (CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END) STORED
"""
TARGET_COPY = 0.5
TARGET_BULK = 5.0
RESULT = re.compile(r"read (\d+) row\(s\).*\((\w+)\): (\d+) created, (\d+) duplicate\(s\)")


# -- the naive importer, in a child process ---------------------------------------------


def bulk_child(path: Path, limit: int, batch_size: int) -> dict:
    """What a straightforward Django importer does: validate, build models, bulk_create."""
    import django

    django.setup()
    from django.db import transaction

    from journal.domain.trade_record import parse_record
    from journal.models import Trade, TradeStatus

    started = time.perf_counter()
    created = 0
    batch: list[Trade] = []
    with path.open(newline="", encoding="utf-8") as handle, transaction.atomic():
        for number, row in enumerate(csv.DictReader(handle)):
            if number >= limit:
                break
            record = parse_record(row)
            batch.append(
                Trade(
                    trade_id=record.trade_id,
                    executed_at=record.executed_at,
                    closed_at=record.closed_at,
                    symbol=record.symbol,
                    side=record.side,
                    quantity=record.quantity,
                    entry_price=record.entry_price,
                    exit_price=record.exit_price,
                    fees=record.fees,
                    pnl=record.pnl,
                    status=TradeStatus.CLOSED if record.is_closed else TradeStatus.OPEN,
                    strategy=record.strategy,
                    account=record.account,
                    broker_order_id=record.broker_order_id,
                    agent_votes=record.agent_votes,
                    signals=record.signals,
                    model_version=record.model_version,
                    confidence=record.confidence,
                )
            )
            if len(batch) >= batch_size:
                created += len(Trade.objects.bulk_create(batch, batch_size=batch_size))
                batch = []
        if batch:
            created += len(Trade.objects.bulk_create(batch, batch_size=batch_size))
    return {"created": created, "seconds_inside": time.perf_counter() - started}


# -- the parent ---------------------------------------------------------------------------


def import_command(db: BenchDatabase, path: Path, timeout: float, what: str):
    run = timed(
        [sys.executable, "manage.py", "import_trades", str(path), "--no-progress"],
        db.env,
        timeout,
        what,
    )
    match = RESULT.search(run.stdout)
    if not match:
        raise SystemExit(f"{what}: unexpected output:\n{run.stdout[-2000:]}")
    read, method, created, duplicates = match.groups()
    return run.seconds, int(read), method, int(created), int(duplicates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--bulk-rows",
        type=int,
        default=100_000,
        help="rows for the bulk_create run (a subset of the file when smaller than --rows)",
    )
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per step")
    parser.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting for the throwaway cluster, e.g. shared_buffers=1GB (repeatable)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(bulk_child(args.file, args.bulk_rows, args.batch_size)))
        return

    sys.path.insert(0, str(REPO))
    total_started = time.perf_counter()
    bulk_rows = min(args.bulk_rows, args.rows)
    with BenchDatabase(name="bench_ingest", settings=parse_settings(args.pg_set)) as db:
        print(db.machine_facts())
        print("note: other work may share this machine; the figures are noisy")
        trades = generate_trades(db.tmp / "trades.csv", args.rows)
        print(
            f"generated {trades.rows:,} trades ({trades.closed:,} closed) in "
            f"{trades.seconds:.1f} s: {trades.megabytes:.0f} MB of CSV"
        )

        db.sql("CHECKPOINT")
        seconds, read, method, created, duplicates = import_command(
            db, trades.path, args.timeout, "import_trades"
        )
        stored = db.count("journal_trade")
        first = (seconds, read, method, created, duplicates, stored)

        db.sql("CHECKPOINT")
        again = import_command(db, trades.path, args.timeout, "import_trades (again)")
        stored_again = db.count("journal_trade")

        db.sql("TRUNCATE journal_trade")
        db.sql("CHECKPOINT")
        bulk = timed(
            [
                sys.executable,
                "-m",
                "bench.ingest",
                "--child",
                "--file",
                str(trades.path),
                "--bulk-rows",
                str(bulk_rows),
                "--batch-size",
                str(args.batch_size),
            ],
            db.env,
            args.timeout,
            "bulk_create",
        )
        answer = json.loads(bulk.stdout.strip().splitlines()[-1])
        bulk_seconds = bulk.seconds
        bulk_stored = db.count("journal_trade")

        db.sql(raw_table_sql(RAW_TABLE))
        db.sql("CHECKPOINT")
        columns = ", ".join(FIELDS)
        copy = timed(
            db.psql_command(
                "-c",
                f"\\copy {RAW_TABLE} ({columns}) FROM '{trades.path}' WITH (FORMAT csv, HEADER)",
            ),
            db.env,
            args.timeout,
            "psql \\copy",
        )
        raw_stored = db.count(RAW_TABLE)

        db.sql(CEILING_SQL)
        db.sql("CHECKPOINT")
        blanks = "strategy, account, broker_order_id, model_version"
        ceiling = timed(
            db.psql_command(
                "-c",
                f"\\copy {CEILING_TABLE} ({columns}) FROM '{trades.path}' "
                f"WITH (FORMAT csv, HEADER, FORCE_NOT_NULL ({blanks}))",
            ),
            db.env,
            args.timeout,
            "psql \\copy into journal_trade's indexes",
        )
        ceiling_stored = db.count(CEILING_TABLE)

    import_rate = rate(args.rows, first[0])
    again_rate = rate(args.rows, again[0])
    bulk_rate = rate(bulk_rows, bulk_seconds)
    copy_rate = rate(args.rows, copy.seconds)
    ceiling_rate = rate(args.rows, ceiling.seconds)
    subset = bulk_rows < args.rows
    print(f"\ningest of {args.rows:,} trades (rows/s = rows / wall-clock seconds of the process)")
    print_table(
        ("method", "rows", "seconds", "rows/s", "in table"),
        [
            ("import_trades", f"{args.rows:,}", f"{first[0]:.1f}", f"{import_rate:,.0f}",
             f"{first[5]:,}"),
            ("import_trades again", f"{args.rows:,}", f"{again[0]:.1f}", f"{again_rate:,.0f}",
             f"{stored_again:,}"),
            ("bulk_create" + (" (subset)" if subset else ""), f"{bulk_rows:,}",
             f"{bulk_seconds:.1f}", f"{bulk_rate:,.0f}", f"{bulk_stored:,}"),
            ("psql \\copy (raw)", f"{args.rows:,}", f"{copy.seconds:.1f}", f"{copy_rate:,.0f}",
             f"{raw_stored:,}"),
            ("psql \\copy (ceiling)", f"{args.rows:,}", f"{ceiling.seconds:.1f}",
             f"{ceiling_rate:,.0f}", f"{ceiling_stored:,}"),
        ],
        (22, 10, 8, 9, 10),
    )  # fmt: skip
    if subset:
        print(
            f"bulk_create ran on the first {bulk_rows:,} rows; its rows/s is extrapolated to "
            f"{args.rows:,} rows (about {args.rows / bulk_rate:.0f} s)"
        )
    print(
        f"correctness: first import {first[3]:,} created, {first[4]:,} duplicate(s) "
        f"({first[2]}); re-import {again[3]:,} created, {again[4]:,} duplicate(s); "
        f"bulk_create stored {answer['created']:,}"
    )
    correct = (
        first[3] == args.rows
        and first[4] == 0
        and first[5] == args.rows
        and again[3] == 0
        and again[4] == args.rows
        and stored_again == args.rows
        and bulk_stored == bulk_rows
        and raw_stored == args.rows
        and ceiling_stored == args.rows
    )
    print(f"correctness: {'OK' if correct else 'WRONG'} (expected N created then 0)")
    vs_copy = import_rate / copy_rate
    vs_bulk = import_rate / bulk_rate
    print(
        f"import_trades / raw COPY   = {vs_copy:5.2f}x  (target >= {TARGET_COPY}x)  "
        f"{verdict(vs_copy >= TARGET_COPY)}"
    )
    print(
        f"import_trades / bulk_create = {vs_bulk:4.2f}x  (target >= {TARGET_BULK:g}x)  "
        f"{verdict(vs_bulk >= TARGET_BULK)}"
    )
    print(
        f"ceiling: a COPY with no validation into journal_trade's indexes reaches "
        f"{ceiling_rate / copy_rate:.2f}x raw COPY; import_trades is "
        f"{import_rate / ceiling_rate:.2f}x of that ceiling"
    )
    print(f"total benchmark time {time.perf_counter() - total_started:.0f} s")
    if not correct:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
