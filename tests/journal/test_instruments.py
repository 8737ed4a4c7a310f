"""Instruments: where the desk requires them, a trade on an unknown symbol is refused
naming `symbol` on every path (API, both imports, the spool's replay); elsewhere it is
accepted."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from journal import instruments
from journal.domain.trade_record import FIELDS, parse_record
from journal.models import Instrument, QuarantinedLine, Trade
from journal.write.exports import export_cell
from journal.write.imports import ImportFailed, import_file
from journal.write.replay import spool_replay
from tests.journal.conftest import trade_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(settings):
    settings.INSTRUMENTS_REQUIRED = True
    instruments.instruments_seed()
    yield
    instruments.forget()


def test_the_catalogue_is_seeded_once_and_the_desks_changes_are_kept(db):
    assert instruments.instruments_seed() == len(instruments.CATALOGUE)
    eurusd = Instrument.objects.get(symbol="EURUSD")
    assert (eurusd.price_decimals, eurusd.point_value, eurusd.quote_currency) == (
        5,
        Decimal("100000"),
        "USD",
    )
    Instrument.objects.filter(symbol="EURUSD").update(point_value=10000)
    assert instruments.instruments_seed() == 0
    assert Instrument.objects.get(symbol="EURUSD").point_value == Decimal("10000")


def test_an_unknown_symbol_is_refused_naming_it_where_instruments_are_required(bot, required):
    response = bot.post(
        "/api/v1/trades", [trade_data(), trade_data(symbol="EURUSX")], format="json"
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["index"], error["field"]) == (1, "symbol")
    assert "EURUSX is not an instrument" in error["message"]
    assert not Trade.objects.exists()
    assert bot.post("/api/v1/trades", [trade_data()], format="json").status_code == 201


def test_an_unknown_symbol_is_accepted_where_they_are_not(bot, settings):
    settings.INSTRUMENTS_REQUIRED = False
    assert bot.post("/api/v1/trades", trade_data(symbol="ZZZZZ"), format="json").status_code == 201


@pytest.mark.parametrize("fast", [True, False])
def test_both_import_paths_name_the_unknown_symbols_line(tmp_path, required, fast):
    path = tmp_path / "trades.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for data in (trade_data(), trade_data(symbol="NOPE1"), trade_data()):
            record = parse_record(data).as_json()
            writer.writerow([export_cell(record[f], f) for f in FIELDS])
    with pytest.raises(ImportFailed) as failed:
        import_file(path, fast=fast)
    assert [(e.line, e.field) for e in failed.value.errors] == [(3, "symbol")]
    assert not Trade.objects.exists()


def test_a_spooled_trade_on_an_unknown_symbol_is_quarantined_not_lost(spool_dir, required):
    from journal.write.capture import get_spool

    get_spool().append([trade_data(symbol="GONE1"), trade_data()])
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("replay_spool", "--no-progress", stdout=out)
    assert Trade.objects.count() == 1
    (line,) = QuarantinedLine.objects.all()
    assert "GONE1 is not an instrument" in line.reason
    assert spool_replay().read == 0
