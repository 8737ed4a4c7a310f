"""Desk records' rules in the database, the append-only history, and the API."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from desk.models import Decision, IdeaStatus, RiskConfig, Strategy
from desk.services import idea_submit
from tests.desk.conftest import idea, idea_body
from tests.openapi import assert_documented

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_strategy_json_is_validated_with_the_path_of_each_error():
    strategy = Strategy(
        name="bad",
        session_windows=[{"start": "9:00", "end": "17:00"}],
        risk_caps={"max_lot_size": -1, "colour": "red"},
        entry_conditions=[{"indicator": "rsi_14", "operator": "<<", "value": 30}],
    )
    with pytest.raises(ValidationError) as info:
        strategy.full_clean()
    errors = info.value.message_dict
    # In plain words, never a regular expression or a schema term.
    assert errors["session_windows"] == [
        "session_windows[0].start: must be a time of day as HH:MM, 24 h (e.g. 07:00), not '9:00'"
    ]
    assert "risk_caps.max_lot_size: must be more than 0, not -1" in errors["risk_caps"]
    assert any(
        m.startswith("risk_caps: has no setting colour (the settings are max_lot_size,")
        for m in errors["risk_caps"]
    )
    assert errors["entry_conditions"] == [
        "entry_conditions[0].operator: must be one of <, <=, >, >=, ==, crosses_above, "
        "crosses_below, not '<<'"
    ]
    text = " ".join(m for messages in errors.values() for m in messages)
    assert "^" not in text and "does not match" not in text


@pytest.mark.smoke
def test_the_risk_config_is_one_row_by_database_constraint():
    RiskConfig.objects.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskConfig.objects.create()  # the same key (True)
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskConfig.objects.create(id=False)


@pytest.mark.smoke
def test_an_entry_range_must_have_both_ends_in_order():
    with pytest.raises(ValidationError) as info:
        idea(entry_range_low=Decimal("1.2"), entry_range_high=Decimal("1.1")).full_clean()
    assert "above its high end" in info.value.message_dict["entry_range"][0]
    with pytest.raises(ValidationError, match="both ends"):
        idea(entry_range_low=Decimal("1.2")).full_clean()


def test_levels_a_trader_would_not_take_are_stored_and_rejected_by_the_gate(open_desk, engine):
    """A stop above a long's entry and an entry outside its range: the idea is kept in
    the history, rejected, each reason a row of the gate's table."""
    body = idea_body(stop_loss="1.2", entry_range=["1.1", "1.2"])
    response = engine.post("/api/v1/trade-ideas", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "rejected"
    failed = {c["rule"] for c in response.json()["risk_check_result"]["checks"] if not c["passed"]}
    assert {"stop_loss_side", "entry_range"} <= failed


def test_postgres_refuses_to_update_or_delete_a_decision(open_desk):
    submitted, _ = idea_submit(idea=idea(), actor="bot")
    decision = Decision.objects.get(trade_idea=submitted)
    for statement in (
        "UPDATE desk_decision SET rationale = 'rewritten'",
        "DELETE FROM desk_decision",
    ):
        with pytest.raises((InternalError, ProgrammingError), match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(actor="someone else")
    assert Decision.objects.get(pk=decision.pk).rationale == decision.rationale


# -- the API --------------------------------------------------------------------------


@pytest.mark.smoke
def test_an_engine_submits_an_idea_and_sees_the_verdict(open_desk, engine, strategy):
    response = engine.post("/api/v1/trade-ideas", idea_body(strategy="breakout"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == IdeaStatus.AUTO_EXECUTED
    assert body["risk_check_result"]["verdict"] == "auto_executed"
    assert {c["rule"] for c in body["risk_check_result"]["checks"]} >= {
        "min_confidence",
        "max_concurrent_trades",
        "watchlist",
        "strategy_symbols",
    }


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"direction": "up"}, "direction"),
        ({"confidence_score": "1.5"}, "confidence_score"),
        ({"entry_range": ["1.0"]}, "entry_range"),
        ({"strategy": "nope"}, "strategy"),
        ({"entry_range": ["1.2", "1.1"]}, "entry_range"),
        ({"prediction_id": "p\u00e9/1"}, "prediction_id"),
        ({"entry_price": "-1"}, "entry_price"),
        ({"expected_hold": 0}, "expected_hold"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_ideas_get_a_400_naming_the_field(open_desk, engine, override, field):
    response = engine.post("/api/v1/trade-ideas", idea_body(**override), format="json")
    assert response.status_code == 400
    assert field in fields_of(response)


def fields_of(response) -> list[str]:
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}, body
    return [error["field"] for error in body["errors"]]


@pytest.mark.smoke
def test_ideas_need_the_ideas_scope_and_lists_need_a_read_scope(client, open_desk):
    from rest_framework.test import APIClient

    from apikeys.services import api_key_create

    _, raw = api_key_create(name="reader", scopes="trades:read")
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert reader.post("/api/v1/trade-ideas", idea_body(), format="json").status_code == 403
    assert reader.get("/api/v1/trade-ideas").status_code == 200
    assert reader.get("/api/v1/decisions").status_code == 200
    assert client.get("/api/v1/decisions").status_code == 401


@pytest.mark.smoke
def test_lists_filter_and_page(open_desk, engine):
    for symbol in ("EURUSD", "GBPUSD", "EURUSD"):
        engine.post("/api/v1/trade-ideas", idea_body(symbol=symbol), format="json")
    waiting = engine.get("/api/v1/trade-ideas", {"status": "needs_approval"}).json()
    assert [i["symbol"] for i in waiting["results"]] == ["GBPUSD"]
    page = engine.get("/api/v1/decisions", {"symbol": "eurusd", "limit": 1}).json()
    assert len(page["results"]) == 1 and page["next"]
    assert engine.get("/api/v1/decisions", {"action": "nope"}).status_code == 400


# Found by the schemathesis run (tests/fuzz): each failed before its fix.


def test_ideas_and_decisions_without_a_strategy_match_the_schema(open_desk, engine):
    # `strategy` is null for them; the schema said string.
    assert engine.post("/api/v1/trade-ideas", idea_body(), format="json").status_code == 201
    for path in ("/api/v1/trade-ideas", "/api/v1/decisions"):
        response = engine.get(path)
        assert response.json()["results"][0]["strategy"] is None
        assert_documented(response, "GET", path)


def test_a_refused_idea_names_each_field_as_the_schema_says(open_desk, engine):
    # The schema promised {"detail"}; the answer names the fields, list items by index.
    response = engine.post("/api/v1/trade-ideas", {}, format="json")
    assert response.status_code == 400
    assert {"symbol", "direction", "entry_price"} <= set(fields_of(response))
    assert_documented(response, "POST", "/api/v1/trade-ideas")
    response = engine.post(
        "/api/v1/trade-ideas", idea_body(entry_range=["1.08", "-1"]), format="json"
    )
    assert fields_of(response) == ["entry_range[1]"]
    assert_documented(response, "POST", "/api/v1/trade-ideas")


def test_bad_filters_and_cursors_are_documented_400s(open_desk, engine):
    # A bad filter's 400 was undocumented; a foreign cursor was a 404 "Invalid cursor".
    for path in ("/api/v1/trade-ideas", "/api/v1/decisions"):
        for query in ({"until": "null"}, {"cursor": "spool_error"}):
            response = engine.get(path, query)
            assert response.status_code == 400
            assert set(fields_of(response)) == set(query)
            assert_documented(response, "GET", path)
    offset = engine.get("/api/v1/decisions", {"since": "2026-03-03T05:00:00+20:41"})
    assert offset.status_code == 200


def test_a_strategy_name_with_a_nul_is_a_400_naming_it(open_desk, engine):
    # PostgreSQL refuses NUL in text: the lookup of such a strategy name was a 500.
    response = engine.post("/api/v1/trade-ideas", idea_body(strategy="br\x00eak"), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "strategy", "message": "Null characters are not allowed."}
    ]
