"""What bots and attackers send to POST /api/v1/trades (issue: trades are never lost).

Every reproduction of the issue is here: values that answered 500, or that were accepted
and then could not be stored, are a 400 naming the field; an open and its close in one
batch end closed; large bodies within the documented limits are accepted and larger
ones get a JSON 413 naming the limit.
"""

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from journal.domain.trade_record import MAX_JSON_BYTES
from journal.models import Trade, TradeStatus
from journal.write.capture import record_trades
from tests.journal.conftest import existing_ideas, open_trade_data, trade_data

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def post(client, body: str):
    return client.post("/api/v1/trades", body, content_type="application/json")


def closing_of(opened: dict, pnl: str = "42.5") -> dict:
    closed_at = datetime.fromisoformat(opened["executed_at"]) + timedelta(hours=2)
    return {**opened, "closed_at": closed_at.isoformat(), "exit_price": "1.1", "pnl": pnl}


# Each body was a 500 (or an accepted, unstorable trade) before; the field it names.
HOSTILE = [
    ('"executed_at": "9999-12-31T23:00:00-05:00"', "executed_at"),
    ('"signals": {"x": "x\\u0000"}', "signals"),
    ('"signals": {"x\\u0000": 1}', "signals"),
    ('"agent_votes": {"x": "\\u0000"}', "agent_votes"),
    ('"signals": {"x": 1e5000}', "signals"),
    ('"signals": {"x": -1e5000}', "signals"),
    ('"signals": {"x": 100000000000000000000}', "signals"),
    ('"strategy": "\\ud800"', "strategy"),
    ('"account": "\\udfff x"', "account"),
    ('"signals": {"note": "\\ud800"}', "signals"),
    ('"signals": {"\\ud800": 1}', "signals"),
    ('"quantity": 1e5000', "quantity"),
    ('"signals": ' + "[" * 700 + "]" * 700, "signals"),
    ('"signals": {"a": ' + "[" * 20 + "]" * 20 + "}", "signals"),
    ('"signals": "' + "x" * 10 + '"', "signals"),
    ('"trade_id": true', "trade_id"),
    ('"quantity": [1]', "quantity"),
]


@pytest.mark.parametrize(("extra", "field"), HOSTILE)
def test_hostile_values_are_a_400_naming_the_field_and_store_nothing(bot, extra, field):
    good = json.dumps(trade_data())
    bad = json.dumps(trade_data())[:-1] + ", " + extra + "}"
    response = post(bot, f"[{good}, {bad}]")
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert {"index": 1, "field": field} in [
        {"index": e["index"], "field": e["field"]} for e in body["errors"]
    ], body
    assert not Trade.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('"quantity": Infinity', "quantity"),
        ('"signals": {"x": NaN}', "signals"),
        ('"pnl": -Infinity', "pnl"),
    ],
)
def test_nan_and_infinity_are_named_by_field(bot, extra, field):
    body = json.dumps(trade_data())[:-1] + ", " + extra + "}"
    response = post(bot, body)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' + "9" * 5001 + "}",
        "\xff\xfe",
        '{"a": "\\ud800"',
    ],
    ids=["nesting-100k", "5001-digits", "not-utf8", "truncated"],
)
def test_malformed_bodies_are_a_400_in_json(bot, body):
    response = bot.post(
        "/api/v1/trades", body.encode("utf-8", "surrogateescape"), content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "malformed JSON" in response.json()["detail"] or "UTF-8" in response.json()["detail"]


def test_ideas_refuse_deep_nesting_with_a_400_too(db):
    from rest_framework.test import APIClient

    from apikeys.services import api_key_create

    _, raw = api_key_create(name="ai-engine", scopes="ideas:write")
    engine = APIClient()
    engine.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    body = '{"symbol": "EURUSD", "rationale": ' + "[" * 5000 + "]" * 5000 + "}"
    response = engine.post("/api/v1/trade-ideas", body, content_type="application/json")
    assert response.status_code == 400


# -- batches in order ----------------------------------------------------------------------


def test_an_open_and_its_close_in_one_batch_end_closed_with_the_close_figures(bot):
    opened = open_trade_data(trade_id="PAIR-1")
    response = bot.post("/api/v1/trades", [opened, closing_of(opened)], format="json")
    assert response.status_code == 201
    assert response.json() == {"created": 1, "duplicates": 0, "closed": 1, "warnings": []}
    trade = Trade.objects.get(trade_id="PAIR-1")
    assert (trade.status, trade.pnl, trade.exit_price) == (
        TradeStatus.CLOSED,
        Decimal("42.5"),
        Decimal("1.1"),
    )


def test_a_close_before_its_open_in_one_batch_also_ends_closed(bot):
    opened = open_trade_data(trade_id="PAIR-2")
    response = bot.post("/api/v1/trades", [closing_of(opened), opened], format="json")
    assert response.json() == {"created": 1, "duplicates": 1, "closed": 0, "warnings": []}
    assert Trade.objects.get(trade_id="PAIR-2").status == TradeStatus.CLOSED


def test_a_second_close_in_the_batch_changes_nothing(bot):
    opened = open_trade_data(trade_id="PAIR-3")
    batch = [opened, closing_of(opened, "10"), closing_of(opened, "99")]
    assert bot.post("/api/v1/trades", batch, format="json").json() == {
        "created": 1,
        "duplicates": 1,
        "closed": 1,
        "warnings": [],
    }
    assert Trade.objects.get(trade_id="PAIR-3").pnl == Decimal("10")


def test_an_open_stored_before_is_closed_by_a_batch_repeating_it(bot):
    opened = open_trade_data(trade_id="PAIR-4")
    record_trades([opened])
    result = record_trades([opened, closing_of(opened)])
    assert (result.created, result.closed, result.duplicates) == (0, 1, 1)
    assert Trade.objects.get(trade_id="PAIR-4").status == TradeStatus.CLOSED


# -- sizes -----------------------------------------------------------------------------------


def largest_trade(n: int) -> dict:
    """A trade of the documented largest size: signals and agent_votes of MAX_JSON_BYTES."""
    filler = "x" * (MAX_JSON_BYTES - len('{"pad":""}'))
    return trade_data(trade_id=f"BIG-{n:04d}", signals={"pad": filler}, agent_votes={"pad": filler})


def test_the_documented_largest_batch_is_accepted(bot, settings):
    batch = [largest_trade(n) for n in range(settings.JOURNAL_MAX_BATCH)]
    body = json.dumps(batch)
    assert len(body) > 30_000_000  # far above Django's default 2.5 MB
    response = post(bot, body)
    assert response.status_code == 201, response.content[:300]
    assert response.json()["created"] == settings.JOURNAL_MAX_BATCH


def test_an_ordinary_3_mb_batch_is_accepted(bot):
    batch = [trade_data(signals={"pad": "x" * 2900}) for _ in range(1000)]
    response = post(bot, json.dumps(batch))
    assert response.status_code == 201
    assert Trade.objects.count() == 1000


def test_a_body_over_the_limit_is_a_json_413_naming_it(bot, settings):
    settings.JOURNAL_MAX_BODY_MB = 1
    response = post(bot, json.dumps([trade_data(signals={"pad": "x" * 9000}) for _ in range(150)]))
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert "limit of 1 MB" in response.json()["detail"]
    assert not Trade.objects.exists()


def test_djangos_own_limit_sits_above_every_api_limit(settings):
    top = max(settings.JOURNAL_MAX_BODY_MB, settings.SERVING_MAX_BODY_MB, settings.API_MAX_BODY_MB)
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE > top * 1024 * 1024


def test_a_large_batch_takes_the_staged_copy_and_counts_alike(settings):
    """From journal.write.storage.COPY_THRESHOLD rows a batch goes through COPY: the same
    in-order states and counts as the small batches above."""
    from journal.write.storage import COPY_THRESHOLD

    stored_open = open_trade_data(trade_id="BIG-STORED-OPEN")
    record_trades([stored_open])
    pairs = [open_trade_data(trade_id=f"BIG-PAIR-{n}") for n in range(50)]
    batch = [trade_data(trade_id=f"BIG-NEW-{n}") for n in range(COPY_THRESHOLD)]
    for opened in pairs:
        batch += [opened, closing_of(opened, "3.5")]
    batch += [stored_open, closing_of(stored_open, "-1.25")]
    result = record_trades(batch)
    assert (result.created, result.closed, result.duplicates) == (COPY_THRESHOLD + 50, 51, 1)
    assert Trade.objects.filter(trade_id__startswith="BIG-PAIR-", pnl=Decimal("3.5")).count() == 50
    assert Trade.objects.get(trade_id="BIG-STORED-OPEN").pnl == Decimal("-1.25")


def test_a_trade_carries_its_initial_stop_and_the_idea_that_caused_it(bot):
    existing_ideas(77)
    data = trade_data(trade_id="WITH-STOP", stop_loss="1.0800", idea_id=77)
    assert bot.post("/api/v1/trades", data, format="json").status_code == 201
    trade = Trade.objects.get(trade_id="WITH-STOP")
    assert (trade.stop_loss, trade.idea_id) == (Decimal("1.08"), 77)
    listed = bot.get("/api/v1/trades").json()["results"][0]
    # EURUSD's five decimals where the instrument is known (the catalogue is not seeded
    # here: the stop as stored, never padded to eight places).
    assert (listed["stop_loss"], listed["idea_id"]) == ("1.08", 77)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"stop_loss": "1.2"}, "stop_loss"),  # a long's stop above its entry
        ({"stop_loss": "-1"}, "stop_loss"),
        ({"idea_id": 0}, "idea_id"),
        ({"idea_id": "seven"}, "idea_id"),
        ({"idea_id": 2**70}, "idea_id"),
        ({"idea_id": True}, "idea_id"),
    ],
)
def test_a_bad_stop_or_idea_is_named(bot, extra, field):
    response = bot.post("/api/v1/trades", trade_data(**extra), format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
