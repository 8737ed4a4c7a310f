"""GET /api/v1/positions (issue 29): the open trades at the latest stored market bar, with
unrealised P&L, R, the risk to the stop and their age; scope trades:read (a staff
session: view_trade); the API's one error body; documented in the OpenAPI schema;
decimal strings at the instrument's places. The dashboard's open positions are the same
figures (journal.analytics.positions)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from desk.models import MarketBar
from journal.analytics import positions
from journal.instruments import forget, instruments_seed
from journal.models import Trade
from journal.write.capture import record_trades
from tests.admin.conftest import staff_member
from tests.journal.conftest import open_trade_data, trade_data

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

POSITIONS = "/api/v1/positions"


def bar(symbol, close, *, at, timeframe="M5"):
    return MarketBar(
        symbol=symbol,
        timeframe=timeframe,
        captured_at=at,
        open=D(close),
        high=D(close),
        low=D(close),
        close=D(close),
    )


@pytest.fixture
def book():
    """EURUSD long 2 lots at 1.08400, stop 1.08100, opened 3 h ago; gold short 1 lot at
    2,350.00 with its stop at 2,360.00, the price past it; GBPUSD without any bar;
    USDJPY whose only bar is from before the entry; ZZZ (no instrument); a closed
    trade."""
    instruments_seed()
    forget()
    now = timezone.now()
    MarketBar.objects.bulk_create(
        [
            bar("EURUSD", "1.08550", at=now - timedelta(minutes=10)),
            bar("EURUSD", "1.08000", at=now - timedelta(minutes=10), timeframe="H1"),  # coarser
            bar("EURUSD", "1.07000", at=now - timedelta(hours=2)),  # older
            bar("XAUUSD", "2365.25", at=now - timedelta(minutes=5)),
            bar("USDJPY", "150.100", at=now - timedelta(days=2)),
            bar("ZZZ", "11.5", at=now - timedelta(minutes=1)),
            bar("EURUSD", "1.09999", at=now + timedelta(minutes=30)),  # the future: never
        ]
    )
    record_trades(
        [
            open_trade_data(
                trade_id="EUR-OPEN",
                opened=now - timedelta(hours=3),
                entry_price="1.08400",
                stop_loss="1.08100",
                quantity="2",
                fees="3.5",
                strategy="momentum",
            ),
            open_trade_data(
                trade_id="GOLD-OPEN",
                opened=now - timedelta(hours=26),
                symbol="XAUUSD",
                side="short",
                entry_price="2350.00",
                stop_loss="2360.00",
                quantity="1",
                fees="0",
                strategy="fade",
            ),
            open_trade_data(
                trade_id="GBP-OPEN", opened=now - timedelta(hours=1), symbol="GBPUSD", fees="0"
            ),
            open_trade_data(
                trade_id="JPY-OPEN",
                opened=now - timedelta(hours=1),
                symbol="USDJPY",
                entry_price="150.250",
                fees="0",
            ),
            open_trade_data(
                trade_id="ZZZ-OPEN",
                opened=now - timedelta(minutes=30),
                symbol="ZZZ",
                entry_price="11",
                stop_loss="10",
                fees="0",
            ),
            trade_data(trade_id="CLOSED", opened=now - timedelta(hours=5)),
        ]
    )


def answer(client, **params) -> dict:
    response = client.get(POSITIONS, params)
    assert response.status_code == 200, response.content
    return {p["trade_id"]: p for p in response.json()["results"]}


def test_each_open_trade_at_the_latest_bar(book, reader):
    found = answer(reader)
    assert set(found) == {"EUR-OPEN", "GOLD-OPEN", "GBP-OPEN", "JPY-OPEN", "ZZZ-OPEN"}
    eur = found["EUR-OPEN"]
    # The latest bar's close, of the finest timeframe that began then (M5, not H1).
    assert (eur["price"], eur["price_timeframe"]) == ("1.08550", "M5")
    # (1.08550 - 1.08400) x 2 lots x 100,000 = 300, less 3.50 of fees.
    assert (eur["unrealised_pnl"], eur["unrealised_r"], eur["risk_to_stop"]) == (
        "296.50",
        "0.5000",
        "900.00",  # (1.08550 - 1.08100) x 2 x 100,000
    )
    assert (eur["currency"], eur["quantity"], eur["entry_price"], eur["stop_loss"]) == (
        "USD",
        "2.00",
        "1.08400",
        "1.08100",
    )
    assert 3 * 3600 - 5 <= eur["age_seconds"] <= 3 * 3600 + 60 and eur["problem"] == ""
    gold = found["GOLD-OPEN"]
    # A short at 2,350.00 with the price at 2,365.25: -1,525.00; past its stop at 2,360.
    assert (gold["unrealised_pnl"], gold["risk_to_stop"], gold["unrealised_r"]) == (
        "-1525.00",
        "-525.00",
        "-1.5250",
    )
    assert found["GBP-OPEN"]["price"] is None
    assert found["GBP-OPEN"]["problem"] == "no stored market bar of GBPUSD"
    jpy = found["JPY-OPEN"]
    assert jpy["unrealised_pnl"] is None and "since the trade opened" in jpy["problem"]
    zzz = found["ZZZ-OPEN"]
    assert (zzz["unrealised_pnl"], zzz["unrealised_r"], zzz["currency"]) == (None, "0.5000", "")
    assert "ZZZ is no instrument of the desk" in zzz["problem"]


def test_the_api_and_the_dashboard_measure_alike(book, reader):
    found = answer(reader)
    now = timezone.now()
    for position in positions.positions_of(Trade.objects.filter(status="open"), now=now):
        shown = found[position.trade.trade_id]
        if position.unrealised_pnl is None:
            assert shown["unrealised_pnl"] is None
        else:
            assert D(shown["unrealised_pnl"]) == position.unrealised_pnl.quantize(D("0.01"))


def test_filters_and_pages(book, reader):
    assert set(answer(reader, symbol="xauusd")) == {"GOLD-OPEN"}
    assert set(answer(reader, strategy="momentum", side="long")) == {"EUR-OPEN"}
    assert set(answer(reader, side="short")) == {"GOLD-OPEN"}
    first = reader.get(POSITIONS, {"limit": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = reader.get(first["next"]).json()
    assert not {p["trade_id"] for p in first["results"]} & {
        p["trade_id"] for p in second["results"]
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [({"side": "sideways"}, "side"), ({"limit": "0"}, None), ({"cursor": "nope"}, "cursor")],
)
def test_bad_input_gets_the_one_error_body(book, reader, params, field):
    response = reader.get(POSITIONS, params)
    if field is None:  # DRF clamps a bad page size to the default: still a page
        assert response.status_code == 200
        return
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"}
    assert body["errors"][0]["field"] == field


def test_only_readers_of_trades_see_positions(book, django_user_model):
    _, predict_only = api_key_create(name="predictor", scopes="predict")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {predict_only}")
    refused = client.get(POSITIONS)
    assert refused.status_code == 403 and set(refused.json()) >= {"detail", "code", "errors"}
    assert APIClient().get(POSITIONS).status_code in (401, 403)
    # Staff sessions: a reviewer reads trades, a model manager does not.
    reviewer = APIClient()
    reviewer.force_login(staff_member(django_user_model, "rita-reviewer", "Reviewer"))
    assert reviewer.get(POSITIONS).status_code == 200
    models = APIClient()
    models.force_login(staff_member(django_user_model, "mona-models", "Model manager"))
    assert models.get(POSITIONS).status_code == 403


def test_positions_are_documented(db, reader):
    schema = reader.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    operation = paths["/api/v1/positions"]["get"]
    assert operation["tags"] == ["Trades"] and "200" in operation["responses"]
    params = {p["name"] for p in operation["parameters"]}
    assert {"symbol", "side", "strategy", "cursor", "limit"} <= params
    assert not {"since", "until", "status"} & params
    component = schema.json()["components"]["schemas"]["Position"]
    assert {"unrealised_pnl", "risk_to_stop", "age_seconds", "problem"} <= set(
        component["properties"]
    )
