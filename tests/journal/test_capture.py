"""Capture through the service and POST/GET /api/v1/trades, on the real database."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from journal.models import Trade, TradeStatus
from journal.write.capture import TradesRejected, record_trades
from tests.journal.conftest import open_trade_data, trade_data
from tests.openapi import assert_documented

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def test_the_same_trade_sent_twice_is_stored_once():
    batch = [trade_data(), trade_data()]
    first = record_trades(batch)
    second = record_trades(batch)
    assert (first.created, first.duplicates) == (2, 0)
    assert (second.created, second.duplicates) == (0, 2)
    assert Trade.objects.count() == 2


def test_a_key_repeated_inside_one_batch_is_stored_once():
    data = trade_data()
    result = record_trades([data, dict(data)])
    assert (result.created, result.duplicates) == (1, 1)
    assert Trade.objects.count() == 1


def test_the_key_is_trade_id_and_execution_time():
    data = trade_data()
    later = {
        **data,
        "executed_at": "2026-03-03T09:00:00+00:00",
        "closed_at": "2026-03-03T10:00:00+00:00",
    }
    assert record_trades([data, later]).created == 2


def test_decimals_are_stored_exactly():
    record_trades([trade_data(trade_id="EXACT", quantity="0.00000001", pnl="-12345.67891234")])
    trade = Trade.objects.get(trade_id="EXACT")
    assert trade.quantity == Decimal("0.00000001")
    assert trade.pnl == Decimal("-12345.67891234")


def test_an_open_trade_is_completed_once_when_sent_again_closed():
    opened = open_trade_data(trade_id="OPEN-1")
    assert record_trades([opened]).created == 1
    assert Trade.objects.get(trade_id="OPEN-1").status == TradeStatus.OPEN
    closed = {
        **opened,
        "closed_at": (
            datetime.fromisoformat(opened["executed_at"]) + timedelta(hours=3)
        ).isoformat(),
        "exit_price": "1.1",
        "pnl": "25.5",
        "fees": "2",
    }
    result = record_trades([closed])
    assert (result.created, result.closed, result.duplicates) == (0, 1, 0)
    trade = Trade.objects.get(trade_id="OPEN-1")
    assert (trade.status, trade.pnl, trade.fees) == ("closed", Decimal("25.5"), Decimal("2"))
    # Once closed, nothing changes any more.
    again = {**closed, "pnl": "999"}
    assert record_trades([again]).duplicates == 1
    assert Trade.objects.get(trade_id="OPEN-1").pnl == Decimal("25.5")


def test_a_batch_with_one_bad_trade_stores_nothing():
    good, bad = trade_data(), trade_data(side="sideways")
    with pytest.raises(TradesRejected) as info:
        record_trades([good, bad])
    assert info.value.by_index == {1: {"side": "must be long or short (got 'sideways')"}}
    assert not Trade.objects.exists()


def test_the_database_refuses_a_bad_side_even_past_the_code():
    from django.db import IntegrityError, transaction

    record_trades([trade_data(trade_id="DB-1")])
    with pytest.raises(IntegrityError), transaction.atomic():
        Trade.objects.filter(trade_id="DB-1").update(side="up")
    with pytest.raises(IntegrityError), transaction.atomic():
        Trade.objects.filter(trade_id="DB-1").update(closed_at=None)


# -- the API -------------------------------------------------------------------------


def test_post_one_trade_or_a_list(bot):
    response = bot.post("/api/v1/trades", trade_data(), format="json")
    assert response.status_code == 201
    assert response.json() == {"created": 1, "duplicates": 0, "closed": 0, "warnings": []}
    response = bot.post("/api/v1/trades", [trade_data(), trade_data()], format="json")
    assert response.json()["created"] == 2


def test_post_reports_each_bad_item_and_field(bot):
    batch = [trade_data(), trade_data(quantity="-3"), trade_data(executed_at="nope")]
    response = bot.post("/api/v1/trades", batch, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "nothing was stored" in body["detail"]
    assert {(e["index"], e["field"]) for e in body["errors"]} == {
        (1, "quantity"),
        (2, "executed_at"),
    }
    assert not Trade.objects.exists()


def test_post_refuses_more_than_a_thousand_and_an_empty_list(bot):
    response = bot.post("/api/v1/trades", [trade_data() for _ in range(1001)], format="json")
    assert response.status_code == 400
    assert "at most 1000" in response.json()["detail"]
    assert bot.post("/api/v1/trades", [], format="json").status_code == 400


def test_malformed_json_is_a_400_naming_it(bot):
    response = bot.post("/api/v1/trades", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "malformed JSON" in response.json()["detail"]


def test_json_numbers_reach_the_database_without_float_noise(bot):
    body = (
        '{"trade_id": "F1", "executed_at": "2026-03-02T09:00:00Z", "symbol": "EURUSD",'
        ' "side": "long", "quantity": 0.1, "entry_price": 1.1}'
    )
    assert bot.post("/api/v1/trades", body, content_type="application/json").status_code == 201
    trade = Trade.objects.get(trade_id="F1")
    assert trade.quantity == Decimal("0.1") and trade.entry_price == Decimal("1.1")


def test_a_read_only_key_cannot_record_and_anonymous_cannot_read(reader, client):
    assert reader.post("/api/v1/trades", trade_data(), format="json").status_code == 403
    assert reader.get("/api/v1/trades").status_code == 200
    assert client.get("/api/v1/trades").status_code == 401


def test_staff_may_use_their_session(admin_client):
    assert admin_client.get("/api/v1/trades").status_code == 200


def test_the_list_filters_and_pages_newest_first(bot):
    from datetime import timedelta

    from tests.journal.conftest import BASE_TIME

    batch = [
        trade_data(
            trade_id=f"L{i}",
            opened=BASE_TIME + timedelta(hours=i),
            symbol="GBPUSD" if i % 2 else "EURUSD",
        )
        for i in range(7)
    ]
    bot.post("/api/v1/trades", batch, format="json")
    page = bot.get("/api/v1/trades", {"symbol": "eurusd", "limit": 2}).json()
    assert [t["trade_id"] for t in page["results"]] == ["L6", "L4"]
    page = bot.get(page["next"]).json()
    assert [t["trade_id"] for t in page["results"]] == ["L2", "L0"]
    assert page["next"] is None
    since = (BASE_TIME + timedelta(hours=5)).isoformat()
    assert [
        t["trade_id"] for t in bot.get("/api/v1/trades", {"since": since}).json()["results"]
    ] == ["L6", "L5"]


def test_a_bad_filter_is_a_400_naming_it(bot):
    response = bot.get("/api/v1/trades", {"side": "up", "since": "soon"})
    assert response.status_code == 400
    assert {"side", "since"} <= {e["field"] for e in response.json()["errors"]}


# Found by the schemathesis run (tests/fuzz): each failed before its fix.


def test_a_time_filter_with_an_offset_postgres_refuses_is_read_in_utc(bot):
    # Python reads offsets up to ±23:59, PostgreSQL refuses beyond ±15:59: this was a 500.
    bot.post("/api/v1/trades", trade_data(trade_id="Z1"), format="json")
    until = "2026-03-03T05:00:00+20:41"  # 2026-03-02T08:19Z, before the trade
    response = bot.get("/api/v1/trades", {"until": until})
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []
    since = bot.get("/api/v1/trades", {"since": until}).json()["results"]
    assert [t["trade_id"] for t in since] == ["Z1"]


def test_a_time_filter_that_utc_cannot_hold_is_a_400_naming_it(bot):
    response = bot.get("/api/v1/trades", {"since": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "since" and "years 1 to 9999" in error["message"]


def test_a_cursor_the_api_did_not_issue_is_a_400_naming_it(bot):
    # DRF answered 404 "Invalid cursor", a status the schema did not document.
    response = bot.get("/api/v1/trades", {"cursor": "spool_error"})
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["cursor"]
    assert_documented(response, "GET", "/api/v1/trades")


def test_refusals_match_the_documented_schema(bot):
    # A bad filter (400 was undocumented) and a refused batch without item errors
    # (the schema required `errors`).
    assert_documented(bot.get("/api/v1/trades", {"until": "null"}), "GET", "/api/v1/trades")
    for body in ([], "{not json"):
        response = bot.post("/api/v1/trades", body, format="json")
        assert response.status_code == 400
        assert_documented(response, "POST", "/api/v1/trades")
