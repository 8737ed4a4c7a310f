"""The risk config in the admin: one page at /admin/desk/riskconfig/, a form without JSON,
a reason for every change (kept in its audit), a confirmation before anything loosens,
and errors in plain words naming the field."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from desk.domain.limits import EDITABLE_LIMITS
from desk.four_eyes import limit_change_confirm
from desk.models import Action, Decision, LimitChangeRequest, RiskConfig, RiskConfigChange
from desk.services import DeskError, risk_config_get, risk_config_update
from journal.instruments import instruments_seed
from tests.admin.conftest import staff_member

pytestmark = pytest.mark.django_db

PAGE = "/admin/desk/riskconfig/"


@pytest.fixture
def desk_client(client, risk_manager):
    instruments_seed()
    client.force_login(risk_manager)
    return client


def form_data(**changes) -> dict:
    """The page's form as it is shown for the current config, with ``changes``."""
    config = risk_config_get()
    values = {name: getattr(config, name) for name in EDITABLE_LIMITS}
    values.update(changes)
    data = {}
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list):
            data[name] = value
        else:
            data[name] = "" if value is None else str(value)
    return data


def test_the_risk_config_is_one_page_at_the_lists_url(desk_client):
    page = desk_client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Risk limits</h1>" in html
    assert "/True/" not in page.request["PATH_INFO"]
    # Labels in plain words, units and help beside the fields, no JSON to type.
    for text in (
        "AI trading enabled",
        "Minimum confidence",
        "Maximum risk per trade",
        "Maximum risk per trade, % of equity",
        "Auto-trade symbols off the watchlist",
        '<span class="field-unit">USD</span>',
        '<span class="field-unit">lots</span>',
        '<span class="field-unit">%</span>',
        '<span class="field-unit">min</span>',
        "The most one trade may lose at its stop",
        'name="reason"',
    ):
        assert text in html, text
    assert "Ai trading enabled" not in html and "2.00000000" not in html
    assert '<select name="watchlist"' in html and 'value="EURUSD"' in html
    # The old address leads to the page.
    old = desk_client.get("/admin/desk/riskconfig/True/change/")
    assert old.status_code == 302 and old["Location"] == PAGE


def test_a_change_needs_a_reason_kept_in_its_audit(desk_client, risk_manager):
    refused = desk_client.post(PAGE, form_data(max_lot_size="0.5"))
    assert refused.status_code == 200
    assert "Say why the limits change" in refused.content.decode()
    assert risk_config_get().max_lot_size == Decimal(1)
    saved = desk_client.post(PAGE, {**form_data(max_lot_size="0.5"), "reason": "new desk size"})
    assert saved.status_code == 302 and saved["Location"] == PAGE
    assert risk_config_get().max_lot_size == Decimal("0.5")
    change = RiskConfigChange.objects.get(field="max_lot_size")
    assert (change.actor, change.changed_by, change.reason) == (
        "rosa",
        risk_manager,
        "new desk size",
    )
    page = desk_client.get(PAGE).content.decode()
    assert "Saved: Maximum lot size." in page
    assert "<td>Maximum lot size</td><td>1 lot</td><td>0.5 lots</td><td>new desk size</td>" in page
    # Saving without a change needs no reason and changes nothing.
    same = desk_client.post(PAGE, form_data())
    assert same.status_code == 302 and RiskConfigChange.objects.count() == 1


def test_loosening_a_limit_asks_to_confirm_each_one_first(desk_client, django_user_model):
    loose = {
        **form_data(
            ai_trading_enabled=True,
            max_risk_per_trade="",
            max_lot_size="3",
            watchlist=["EURUSD", "GBPUSD"],
            min_confidence_threshold="0.9",  # tighter: not listed
        ),
        "reason": "the desk trades again",
    }
    page = desk_client.post(PAGE, loose)
    assert page.status_code == 200
    html = page.content.decode()
    rows = dict(
        (name, (old, new))
        for name, old, new in __import__("re").findall(
            r'<tr data-limit="(\w+)"><td>[^<]+</td><td>([^<]+)</td><td class="loosened">([^<]+)',
            html,
        )
    )
    assert rows == {
        "ai_trading_enabled": ("off", "on"),
        "max_lot_size": ("1 lot", "3 lots"),
        "max_risk_per_trade": ("250.00 USD", "off (not limited)"),
        "watchlist": ("none", "EURUSD, GBPUSD"),
    }
    assert "the desk trades again" in html
    config = risk_config_get()
    assert config.ai_trading_enabled is False and config.max_lot_size == Decimal(1)
    assert not RiskConfigChange.objects.exists()
    # "Change them" shows the form again with what was typed, and saves nothing.
    again = desk_client.post(PAGE, {**loose, "_edit": "1"})
    assert again.status_code == 200 and 'value="3"' in again.content.decode()
    assert "errornote" not in again.content.decode()
    assert not RiskConfigChange.objects.exists()
    # Confirming what was listed saves it.
    confirmed = (
        # In the page's order (desk.domain.limits.LIMITS).
        "ai_trading_enabled:off>on|watchlist:none>EURUSD, GBPUSD|max_lot_size:1 lot>3 lots|"
        "max_risk_per_trade:250.00 USD>off (not limited)"
    )
    done = desk_client.post(PAGE, {**loose, "_confirmed": confirmed})
    assert done.status_code == 302
    # Four eyes: the tighter limit is saved at once, the looser ones wait for a second
    # person with the same permission; the old values stay in force until then.
    config = risk_config_get()
    assert config.min_confidence_threshold == Decimal("0.9")
    assert not config.ai_trading_enabled and config.max_risk_per_trade == Decimal(250)
    waiting = LimitChangeRequest.objects.get()
    assert set(waiting.changes) == {
        "ai_trading_enabled",
        "max_lot_size",
        "max_risk_per_trade",
        "watchlist",
    }
    second = django_user_model.objects.create_user("sam", is_staff=True)
    second.groups.add(Group.objects.get(name="Risk manager"))
    limit_change_confirm(request_id=waiting.pk, user=second)
    config = risk_config_get()
    assert config.ai_trading_enabled and config.max_risk_per_trade is None
    assert RiskConfigChange.objects.filter(reason="the desk trades again").count() == 5
    resumed = Decision.objects.get(action=Action.AI_RESUMED)
    assert resumed.rationale == "AI trading switched on: the desk trades again"
    assert resumed.actor == "rosa, confirmed by sam"


def test_a_confirmation_of_other_changes_is_asked_again(desk_client):
    loose = {**form_data(max_lot_size="3"), "reason": "bigger"}
    stale = desk_client.post(PAGE, {**loose, "_confirmed": "max_lot_size:1 lot>2 lots"})
    assert stale.status_code == 200
    assert "The limits changed since you saw them" in stale.content.decode()
    assert risk_config_get().max_lot_size == Decimal(1)


def test_tightening_saves_without_a_confirmation(desk_client):
    tight = {
        **form_data(max_lot_size="0.2", max_daily_loss="100", require_stop_loss=True),
        "reason": "a bad week",
    }
    assert desk_client.post(PAGE, tight).status_code == 302
    assert risk_config_get().max_daily_loss == Decimal(100)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"min_confidence_threshold": "1.5"}, "min_confidence_threshold", "from 0 to 1"),
        ({"max_lot_size": "0"}, "max_lot_size", "maximum lot size must be more than 0"),
        ({"max_daily_loss": "-5"}, "max_daily_loss", "leave it empty to switch it off"),
        ({"max_risk_pct_of_equity": "150"}, "max_risk_pct_of_equity", "at most 100"),
        ({"currency": "US$"}, "currency", "not an ISO 4217 currency code"),
        ({"max_lot_size": "1e999"}, "max_lot_size", "without an exponent"),
        ({"max_lot_size": "9" * 40}, "max_lot_size", "digits"),
        ({"max_lot_size": "NaN"}, "max_lot_size", "NaN and Infinity are not numbers"),
        ({"max_concurrent_trades": "99999999999"}, "max_concurrent_trades", "less than"),
        ({"watchlist": ["EURUSD", "NOPE"]}, "watchlist", "NOPE is no instrument of the desk"),
        ({"watchlist": ["<script>alert(1)</script>"]}, "watchlist", "is no instrument"),
        ({"risk_account": "a\x01b"}, "risk_account", "without control characters"),
    ],
)
def test_errors_name_the_field_in_plain_words(desk_client, changes, field, words):
    response = desk_client.post(PAGE, {**form_data(**changes), "reason": "checking"})
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    row = html[html.index(f"field-{field}") :][:3000]
    assert words in row, (field, row[:1500])
    for never in ("Constraint", "desk_riskconfig", "violated", "^(", "<script>alert"):
        assert never not in html, never
    assert not RiskConfigChange.objects.exists()


@pytest.mark.parametrize("reason", ["x" * 10_000, "tab\tok but bell \x07"])
def test_a_hostile_reason_is_refused_in_plain_words(desk_client, reason):
    response = desk_client.post(PAGE, {**form_data(max_lot_size="0.5"), "reason": reason})
    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index("field-reason") :][:2000]
    assert "at most 500 characters (it has 10000)" in row or "without control characters" in row
    assert risk_config_get().max_lot_size == Decimal(1)


def test_undecodable_bytes_in_a_reason_are_kept_as_replacement_characters(desk_client):
    # A browser's form body is decoded as UTF-8 with replacement: a lone surrogate
    # (ED A0 80) never reaches the service as one, and the page never fails.
    from urllib.parse import urlencode

    body = urlencode({**form_data(max_lot_size="0.5"), "reason": "R"}, doseq=True)
    body = body.replace("reason=R", "reason=why+%ED%A0%80")
    response = desk_client.post(PAGE, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    assert RiskConfigChange.objects.get().reason.startswith("why \ufffd")


def test_the_service_refuses_a_lone_surrogate_in_a_reason():
    with pytest.raises(DeskError, match="lone surrogate") as refused:
        risk_config_update(changes={"max_lot_size": Decimal(2)}, actor="ops", reason="a\ud800")
    assert refused.value.field == "reason"


def test_a_reason_with_markup_is_kept_as_text(desk_client):
    data = {**form_data(max_lot_size="0.5"), "reason": "<script>alert(1)</script>"}
    assert desk_client.post(PAGE, data).status_code == 302
    page = desk_client.get(PAGE).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_who_may_see_and_change_the_limits(client, django_user_model):
    reviewer = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    models = staff_member(django_user_model, "mona-models", "Model manager")
    operator = staff_member(django_user_model, "otto-operator", "Operator")
    for user in (reviewer, models, operator):
        client.force_login(user)
        assert client.get(PAGE).status_code == 403, user
        assert client.post(PAGE, {**form_data(max_lot_size="9"), "reason": "x"}).status_code == 403
    assert risk_config_get().max_lot_size == Decimal(1)


def test_the_service_refuses_a_change_without_a_reason():
    with pytest.raises(DeskError) as refused:
        risk_config_update(changes={"max_lot_size": Decimal(2)}, actor="ops", reason=" ")
    assert refused.value.field == "reason"
    with pytest.raises(DeskError) as refused:
        risk_config_update(changes={"max_lot_size": Decimal(2)}, actor="ops", reason="a\x00b")
    assert refused.value.field == "reason"
    with pytest.raises(DeskError) as refused:
        risk_config_update(changes={"max_lot_size": Decimal(-2)}, actor="ops", reason="why")
    assert str(refused.value) == "Maximum lot size: The maximum lot size must be more than 0."
    risk_config_update(changes={"max_lot_size": Decimal(2)}, actor="ops", reason="bigger book")
    assert RiskConfigChange.objects.get().reason == "bigger book"
    assert RiskConfig.objects.get().max_lot_size == Decimal(2)


def test_the_audit_lists_limits_by_name_with_units(desk_client):
    risk_config_update(
        changes={"max_drawdown_amount": Decimal(20000), "watchlist": ["EURUSD", "XAUUSD"]},
        actor="ops",
        reason="the new account",
    )
    html = desk_client.get("/admin/desk/riskconfigchange/").content.decode()
    for text in ("Maximum drawdown", "20,000.00 USD", "1,000.00 USD", "EURUSD, XAUUSD"):
        assert text in html, text
    assert "max_drawdown_amount</td>" not in html and "20000.00000000" not in html
