"""journal_opentrade holds exactly the open trades, whatever path wrote them.

Kept by row triggers (journal/write/open_trades.py); the risk gate counts it on every
idea. After each path below, its rows must be the open trades' ids with their symbol,
strategy and account.
"""

import csv

import pytest
from django.db import connection

from journal.domain.trade_record import FIELDS
from journal.models import OpenTrade, Trade, TradeStatus
from journal.write import fast_import
from journal.write.capture import record_trades
from journal.write.imports import ImportResult, import_file
from tests.journal.conftest import open_trade_data, trade_data

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def assert_in_step():
    expected = set(
        Trade.objects.filter(status=TradeStatus.OPEN).values_list(
            "id", "symbol", "strategy", "account"
        )
    )
    kept = set(OpenTrade.objects.values_list("trade_pk", "symbol", "strategy", "account"))
    assert kept == expected
    return len(kept)


def test_recording_opens_and_closing_removes():
    opened = [open_trade_data() for _ in range(3)]
    record_trades([*opened, trade_data()])
    assert assert_in_step() == 3
    closing = {**opened[0], "closed_at": opened[0]["executed_at"], "exit_price": "1.09"}
    closing["pnl"] = "10"
    record_trades([closing])
    assert assert_in_step() == 2


def test_both_import_paths_keep_it(tmp_path):
    path = tmp_path / "trades.csv"
    rows = [open_trade_data(), open_trade_data(), trade_data()]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: v for k, v in row.items() if not isinstance(v, dict)})
    import_file(path, fast=False)
    assert assert_in_step() == 2
    if connection.vendor == "postgresql":
        again = tmp_path / "more.csv"
        with again.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerow({k: v for k, v in open_trade_data().items() if not isinstance(v, dict)})
        assert fast_import.import_csv(again, ImportResult())
        assert assert_in_step() == 3


def test_a_sql_console_update_or_delete_keeps_it():
    record_trades([open_trade_data(strategy="s1"), open_trade_data(strategy="s1"), trade_data()])
    first, second = Trade.objects.filter(status=TradeStatus.OPEN).order_by("id")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE journal_trade SET strategy = 's2' WHERE id = %s", [first.pk])
        assert assert_in_step() == 2
        assert OpenTrade.objects.get(trade_pk=first.pk).strategy == "s2"
        cursor.execute("DELETE FROM journal_trade WHERE id = %s", [second.pk])
        assert assert_in_step() == 1
        closed = Trade.objects.filter(status=TradeStatus.CLOSED).first()
        cursor.execute(
            "UPDATE journal_trade SET status = 'open', closed_at = NULL, exit_price = NULL, "
            "pnl = NULL WHERE id = %s",
            [closed.pk],
        )
    assert assert_in_step() == 2
