"""A strategy in the admin without JSON: symbols picked from the instruments, sessions and
conditions as rows, exit rules and risk caps as numbers; errors name the row and field
in plain words, never a regular expression."""

import pytest

from desk.models import Strategy
from journal.instruments import instruments_seed
from tests.admin.conftest import staff_member

pytestmark = pytest.mark.django_db

ADD = "/admin/desk/strategy/add/"


@pytest.fixture
def desk_client(client, risk_manager):
    instruments_seed()
    client.force_login(risk_manager)
    return client


def rows(name: str, entries: list[dict], count: int | None = None) -> dict:
    data = {f"{name}-rows": str(count if count is not None else len(entries) + 2)}
    for index, entry in enumerate(entries):
        for key, value in entry.items():
            data[f"{name}-{index}-{key}"] = value
    return data


def strategy_form(**extra) -> dict:
    return {
        "name": "london-breakout",
        "is_active": "on",
        "allowed_symbols": ["EURUSD", "GBPUSD"],
        "rr_expectation": "2",
        **rows(
            "session_windows",
            [
                {
                    "days": ["mon", "tue", "wed"],
                    "start": "7:00",
                    "end": "16:30",
                    "timezone": "Europe/London",
                },
                {"start": "22:00", "end": "02:00"},
            ],
        ),
        **rows(
            "entry_conditions",
            [
                {
                    "indicator": "close",
                    "operator": "crosses_above",
                    "value": "sma_50",
                    "timeframe": "H1",
                }
            ],
        ),
        **rows(
            "forbidden_conditions",
            [
                {"indicator": "impact_level", "operator": "==", "value": "high"},
                {"indicator": "rsi_14", "operator": ">", "value": "70.5", "timeframe": "H1"},
            ],
        ),
        **rows("exit_conditions", [{"indicator": "rsi_14", "operator": "<", "value": "30"}]),
        "exit_stop_loss_pips": "20",
        "exit_take_profit_pips": "45.5",
        "exit_trailing_stop_pips": "",
        "exit_max_hold_minutes": "240",
        "cap_max_lot_size": "2",
        "cap_max_daily_loss": "1500",
        "cap_max_trades_per_day": "6",
        "cap_max_open_trades": "",
        **extra,
    }


def test_a_strategy_is_made_from_rows_and_numbers(desk_client):
    response = desk_client.post(ADD, strategy_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    strategy = Strategy.objects.get(name="london-breakout")
    assert strategy.allowed_symbols == ["EURUSD", "GBPUSD"]
    assert strategy.session_windows == [
        {
            "start": "07:00",
            "end": "16:30",
            "days": ["mon", "tue", "wed"],
            "timezone": "Europe/London",
        },
        {"start": "22:00", "end": "02:00"},
    ]
    assert strategy.entry_conditions == [
        {"indicator": "close", "operator": "crosses_above", "value": "sma_50", "timeframe": "H1"}
    ]
    assert strategy.forbidden_conditions == [
        {"indicator": "impact_level", "operator": "==", "value": "high"},
        {"indicator": "rsi_14", "operator": ">", "value": 70.5, "timeframe": "H1"},
    ]
    assert strategy.exit_rules == {
        "stop_loss_pips": 20,
        "take_profit_pips": 45.5,
        "max_hold_minutes": 240,
        "conditions": [{"indicator": "rsi_14", "operator": "<", "value": 30}],
    }
    assert strategy.risk_caps == {
        "max_lot_size": 2,
        "max_daily_loss": 1500,
        "max_trades_per_day": 6,
    }
    # The page shows them back as rows and numbers, with labels and units.
    page = desk_client.get(f"/admin/desk/strategy/{strategy.pk}/change/").content.decode()
    for text in (
        'name="session_windows-0-start" value="07:00"',
        'name="session_windows-0-timezone" value="Europe/London"',
        'value="tue" checked',
        'name="forbidden_conditions-1-value" value="70.5"',
        'name="exit_take_profit_pips" value="45.5"',
        'name="cap_max_daily_loss" value="1500"',
        "Reward:risk expectation",
        '<span class="field-unit">pips</span>',
        '<span class="field-unit">USD</span>',
    ):
        assert text in page, text
    assert "[{" not in page and "{&quot;" not in page  # no JSON anywhere


def test_emptying_a_row_removes_it(desk_client):
    assert desk_client.post(ADD, strategy_form()).status_code == 302
    strategy = Strategy.objects.get()
    data = strategy_form(**{"session_windows-1-start": "", "session_windows-1-end": ""})
    response = desk_client.post(f"/admin/desk/strategy/{strategy.pk}/change/", data)
    assert response.status_code == 302
    strategy.refresh_from_db()
    assert [w["start"] for w in strategy.session_windows] == ["07:00"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"session_windows-0-start": "25:00"},
            "session_windows",
            "Row 1: the start 25:00 is not a time of day: write HH:MM, 24 h",
        ),
        (
            {"session_windows-1-end": "22:00"},
            "session_windows",
            "Row 2: it starts and ends at 22:00",
        ),
        (
            {"session_windows-0-timezone": "Europe/Londn"},
            "session_windows",
            "Row 1: &#x27;Europe/Londn&#x27; is not a time zone",
        ),
        (
            {"session_windows-0-days": ["mon", "funday"]},
            "session_windows",
            "is not a day of the week",
        ),
        (
            {"forbidden_conditions-0-operator": "~"},
            "forbidden_conditions",
            "Row 1: choose how the indicator compares",
        ),
        ({"forbidden_conditions-1-value": ""}, "forbidden_conditions", "Row 2: give the value"),
        ({"forbidden_conditions-1-value": "1e999"}, "forbidden_conditions", "is too large"),
        (
            {"forbidden_conditions-1-indicator": "<script>"},
            "forbidden_conditions",
            "name the indicator",
        ),
        ({"entry_conditions-0-timeframe": "1 hour"}, "entry_conditions", "is not a timeframe"),
        ({"exit_stop_loss_pips": "0"}, "exit_stop_loss_pips", "Stop loss: give more than 0"),
        ({"exit_max_hold_minutes": "1.5"}, "exit_max_hold_minutes", "Enter a whole number"),
        ({"cap_max_daily_loss": "5000000000"}, "cap_max_daily_loss", "is too large"),
        ({"cap_max_daily_loss": "1" + "0" * 15}, "cap_max_daily_loss", "no more than 12 digits"),
        ({"cap_max_open_trades": "-1"}, "cap_max_open_trades", "greater than or equal to 1"),
        ({"rr_expectation": "-2"}, "rr_expectation", "more than 0"),
        ({"allowed_symbols": ["NOPE"]}, "allowed_symbols", "NOPE is no instrument of the desk"),
        ({"name": "a\x00b"}, "name", "Null characters are not allowed"),
        ({"name": "a\x07b"}, "name", "without control characters"),
        ({"name": "x" * 10_000}, "name", "at most 64 characters"),
    ],
)
def test_errors_name_the_row_and_field_in_plain_words(desk_client, changes, field, words):
    response = desk_client.post(ADD, strategy_form(**changes))
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    errors = html[html.index(f'id="id_{field}_error"') :][:1000]
    assert words in errors, (field, errors)
    for never in ("does not match", "^(", "Constraint", "desk_strategy", "<script>"):
        assert never not in html, never
    assert not Strategy.objects.exists()


def test_odd_row_counts_and_missing_rows_are_no_error(desk_client):
    data = strategy_form(**{"session_windows-rows": "99999999999999", "entry_conditions-rows": "x"})
    response = desk_client.post(ADD, data)
    assert response.status_code == 302
    data = {k: v for k, v in strategy_form().items() if not k.startswith("forbidden_conditions")}
    data["name"] = "other"
    assert desk_client.post(ADD, data).status_code == 302
    assert Strategy.objects.get(name="other").forbidden_conditions == []


def test_only_risk_managers_change_strategies(client, django_user_model):
    instruments_seed()
    for group in ("Reviewer", "Model manager", "Operator"):
        user = staff_member(django_user_model, f"someone-{group[:3].lower()}", group)
        client.force_login(user)
        assert client.get(ADD).status_code == 403, group
        assert client.post(ADD, strategy_form()).status_code == 403, group
    assert not Strategy.objects.exists()
