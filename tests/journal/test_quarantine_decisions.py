"""The quarantine decides lines; it does not write trades (issue 26, item 2).

Re-submitting a quarantined line stores what the line said, corrected only in the fields
the line failed on, under the line's own key (trade_id, executed_at); it needs the
permissions the API needs to store a trade (journal.add_trade, and journal.change_trade
to close an open one), and an audit row keeps who, when, the line, the original record
and the corrected one.

The reproductions of the issue come first: an Operator (change_quarantinedline and
view_trade only) stored a new trade FORGED-… with a P&L of 999999 through the form, and
closed another bot's open trade at -123456. Each test fails on the old form, which
stored whatever JSON it was given.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest

from journal.models import (
    QuarantinedLine,
    QuarantineResubmission,
    QuarantineStatus,
    Trade,
    TradeStatus,
)
from journal.write.capture import TradesRejected, record_trades
from journal.write.quarantine import (
    QuarantineError,
    QuarantineForbidden,
    line_correction,
    quarantine_resubmit,
)
from journal.write.replay import spool_replay
from tests.admin.conftest import staff_member
from tests.journal.conftest import (
    open_trade_data,
    operator_member,
    spool_line,
    trade_data,
    write_spool_file,
)

pytestmark = pytest.mark.django_db

OPENED = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def quarantine(spool_dir, trade: dict | bytes) -> QuarantinedLine:
    """Spool ``trade`` as an earlier version wrote it and replay: the line is quarantined."""
    raw = trade if isinstance(trade, bytes) else spool_line(trade)
    write_spool_file(spool_dir, [raw])
    spool_replay()
    return QuarantinedLine.objects.get(sha256__isnull=False, raw=raw)


def resubmit_url(line) -> str:
    return f"/admin/journal/quarantinedline/{line.pk}/change/"


def post_resubmit(client, line, trade: dict):
    return client.post(resubmit_url(line), {"action": "resubmit", "trade": json.dumps(trade)})


@pytest.fixture
def bad_strategy_line(spool_dir):
    """A closed trade whose strategy holds a lone surrogate: quarantined on replay."""
    return quarantine(spool_dir, trade_data(trade_id="Q-LINE", strategy="\ud800"))


@pytest.fixture
def other_bots_open_trade():
    record_trades([open_trade_data(trade_id="BOT-B-OPEN", opened=OPENED, strategy="bot-b")])
    return Trade.objects.get(trade_id="BOT-B-OPEN")


def forged_trade() -> dict:
    return trade_data(trade_id="FORGED-1", pnl="999999", strategy="breakout")


def forged_close(trade: Trade) -> dict:
    return {
        **open_trade_data(trade_id=trade.trade_id, opened=trade.executed_at),
        "closed_at": (trade.executed_at + timedelta(hours=2)).isoformat(),
        "exit_price": "1.0",
        "pnl": "-123456",
    }


# -- the reproductions --------------------------------------------------------------------


def test_an_operator_cannot_store_a_forged_trade_through_the_form(
    client, operator, bad_strategy_line
):
    client.force_login(operator)
    response = post_resubmit(client, bad_strategy_line, forged_trade())
    assert response.status_code in (200, 403)
    assert not Trade.objects.filter(trade_id="FORGED-1").exists()
    assert not Trade.objects.exists()
    bad_strategy_line.refresh_from_db()
    assert bad_strategy_line.status == QuarantineStatus.PENDING


def test_an_operator_cannot_close_another_bots_open_trade(
    client, operator, bad_strategy_line, other_bots_open_trade
):
    client.force_login(operator)
    post_resubmit(client, bad_strategy_line, forged_close(other_bots_open_trade))
    other_bots_open_trade.refresh_from_db()
    assert other_bots_open_trade.status == TradeStatus.OPEN
    assert other_bots_open_trade.pnl is None


def test_even_a_trusted_operator_stores_no_trade_under_another_key(
    client, trusted_operator, bad_strategy_line, other_bots_open_trade
):
    """The permissions to store trades do not make the form a way to write any trade:
    the key is the line's, and only the field the line failed on may change."""
    client.force_login(trusted_operator)
    forged = post_resubmit(client, bad_strategy_line, forged_trade())
    assert forged.status_code == 200
    assert b"trade_id: the line did not fail on this field" in forged.content
    closing = post_resubmit(client, bad_strategy_line, forged_close(other_bots_open_trade))
    assert closing.status_code == 200
    other_bots_open_trade.refresh_from_db()
    assert other_bots_open_trade.status == TradeStatus.OPEN
    assert list(Trade.objects.values_list("trade_id", flat=True)) == ["BOT-B-OPEN"]
    assert not QuarantineResubmission.objects.exists()


def test_a_superuser_cannot_forge_either(client, admin_user, bad_strategy_line):
    client.force_login(admin_user)
    response = post_resubmit(client, bad_strategy_line, forged_trade())
    assert response.status_code == 200
    assert not Trade.objects.exists()


def test_an_operator_without_add_trade_cannot_resubmit_even_a_true_correction(
    client, operator, bad_strategy_line
):
    client.force_login(operator)
    page = client.get(resubmit_url(bad_strategy_line))
    assert page.status_code == 200
    assert b"journal.add_trade" in page.content  # says why there is no re-submit form
    response = post_resubmit(client, bad_strategy_line, {"strategy": "breakout"})
    assert response.status_code == 403
    assert not Trade.objects.exists()
    with pytest.raises(QuarantineForbidden, match=r"journal\.add_trade"):
        quarantine_resubmit(
            line_id=bad_strategy_line.pk, trade={"strategy": "breakout"}, user=operator
        )
    bad_strategy_line.refresh_from_db()
    assert bad_strategy_line.status == QuarantineStatus.PENDING


# -- what a re-submission stores ----------------------------------------------------------


def test_a_resubmission_stores_the_line_corrected_only_where_it_failed(
    client, trusted_operator, bad_strategy_line
):
    original = json.loads(bytes(bad_strategy_line.raw))["trade"]
    client.force_login(trusted_operator)
    page = client.get(resubmit_url(bad_strategy_line))
    # The form offers the failed field only, with the reason it failed.
    assert b"strategy" in page.content and b"\\ud800" in page.content
    response = post_resubmit(client, bad_strategy_line, {"strategy": "breakout"})
    assert response.status_code == 302
    trade = Trade.objects.get()
    assert trade.trade_id == "Q-LINE" and trade.strategy == "breakout"
    assert trade.executed_at == datetime.fromisoformat(original["executed_at"])
    assert str(trade.pnl) == "66.30000000" and trade.account == original["account"]
    bad_strategy_line.refresh_from_db()
    assert bad_strategy_line.status == QuarantineStatus.RESUBMITTED
    assert bad_strategy_line.resolved_by == trusted_operator

    (audit,) = QuarantineResubmission.objects.all()
    assert audit.line == bad_strategy_line and audit.resubmitted_by == trusted_operator
    assert json.loads(audit.original) == original  # the lone surrogate kept, escaped
    assert "\\ud800" in audit.original
    corrected = json.loads(audit.corrected)
    assert corrected["strategy"] == "breakout" and corrected["trade_id"] == "Q-LINE"
    assert json.loads(audit.changed_fields) == ["strategy"]
    assert audit.outcome == "created" and audit.resubmitted_at is not None
    audit_page = client.get(resubmit_url(bad_strategy_line))
    assert b"breakout" in audit_page.content and b"otto-trusted" in audit_page.content


def test_the_whole_trade_may_be_sent_back_if_only_the_failed_field_changed(
    trusted_operator, bad_strategy_line
):
    whole = json.loads(bytes(bad_strategy_line.raw))["trade"] | {"strategy": "fixed"}
    result = quarantine_resubmit(line_id=bad_strategy_line.pk, trade=whole, user=trusted_operator)
    assert result.created == 1 and Trade.objects.get().strategy == "fixed"


@pytest.mark.parametrize(
    "change",
    [
        {"pnl": "999999"},
        {"trade_id": "FORGED-2"},
        {"executed_at": "2026-03-01T00:00:00+00:00"},
        {"fees": "0"},  # the line has fees; a different value is a change
        {"stop_loss": "1.0"},  # absent from the line: adding it is a change too
    ],
)
def test_a_change_to_a_field_the_line_did_not_fail_on_is_refused_naming_it(
    trusted_operator, bad_strategy_line, change
):
    with pytest.raises(TradesRejected) as refused:
        quarantine_resubmit(
            line_id=bad_strategy_line.pk,
            trade={"strategy": "breakout", **change},
            user=trusted_operator,
        )
    (field,) = change
    assert field in refused.value.by_index[0]
    assert "did not fail on this field" in refused.value.by_index[0][field]
    assert not Trade.objects.exists()
    assert not QuarantineResubmission.objects.exists()


def test_a_correction_still_goes_through_the_capture_rules(trusted_operator, bad_strategy_line):
    with pytest.raises(TradesRejected) as refused:
        quarantine_resubmit(
            line_id=bad_strategy_line.pk, trade={"strategy": "x\x00"}, user=trusted_operator
        )
    assert "strategy" in refused.value.by_index[0]
    assert not Trade.objects.exists()


def test_a_line_that_failed_on_its_key_can_only_be_discarded(client, spool_dir, trusted_operator):
    line = quarantine(spool_dir, trade_data(trade_id="Q-9999", executed_at="9999-12-31T23:00:00"))
    with pytest.raises(QuarantineError, match="discard"):
        quarantine_resubmit(
            line_id=line.pk,
            trade={"executed_at": "2026-03-02T09:00:00+00:00"},
            user=trusted_operator,
        )
    client.force_login(trusted_operator)
    page = client.get(resubmit_url(line))
    assert b"can only be discarded" in page.content
    assert b"Re-submit the trade" not in page.content
    corrected = {"executed_at": "2026-03-02T09:00:00+00:00"}
    assert post_resubmit(client, line, corrected).status_code == 403
    assert not Trade.objects.exists()


def test_an_unreadable_line_can_only_be_discarded(spool_dir, trusted_operator):
    line = quarantine(spool_dir, b'{"batch": "x", "trade": {"trade_id": "TORN"\n')
    assert line_correction(line).problem
    with pytest.raises(QuarantineError, match="discard"):
        quarantine_resubmit(
            line_id=line.pk, trade=trade_data(trade_id="TORN"), user=trusted_operator
        )
    assert not Trade.objects.exists()


def test_a_line_closing_an_open_trade_needs_change_trade(spool_dir, django_user_model):
    """A quarantined close of a bot's own open trade: re-submitting it closes that trade,
    which the API allows only with journal.change_trade."""
    record_trades([open_trade_data(trade_id="OWN-OPEN", opened=OPENED)])
    close = {
        **open_trade_data(trade_id="OWN-OPEN", opened=OPENED),
        "closed_at": (OPENED + timedelta(hours=1)).isoformat(),
        "exit_price": "1.09",
        "pnl": "12x",  # the field the line failed on
    }
    line = quarantine(spool_dir, close)
    adder = operator_member(django_user_model, "ada-adds", "add_trade")
    with pytest.raises(QuarantineForbidden, match=r"journal\.change_trade"):
        quarantine_resubmit(line_id=line.pk, trade={"pnl": "12"}, user=adder)
    assert Trade.objects.get().status == TradeStatus.OPEN
    closer = operator_member(django_user_model, "cleo-closes", "add_trade", "change_trade")
    result = quarantine_resubmit(line_id=line.pk, trade={"pnl": "12"}, user=closer)
    assert result.closed == 1
    trade = Trade.objects.get()
    assert trade.status == TradeStatus.CLOSED and str(trade.pnl) == "12.00000000"
    assert QuarantineResubmission.objects.get().outcome == "closed"


@pytest.fixture
def fresh_instruments():
    from journal import instruments

    instruments.forget()
    yield instruments
    instruments.forget()


def test_a_line_the_rules_accept_now_is_stored_as_it_said(
    spool_dir, settings, trusted_operator, fresh_instruments
):
    """A line quarantined for an unknown symbol that has since become an instrument: the
    rules find nothing to correct, so it is stored exactly as the line said."""
    instruments = fresh_instruments
    settings.INSTRUMENTS_REQUIRED = True
    line = quarantine(spool_dir, trade_data(trade_id="Q-NEWSYM", symbol="NEWSYM"))
    assert "symbol" in line.reason
    assert list(line_correction(line).failing) == ["symbol"]
    new = instruments.catalogue_instrument("EURUSD")
    new.symbol = "NEWSYM"
    new.save()
    instruments.forget()
    assert line_correction(line).failing == {}
    with pytest.raises(TradesRejected):
        quarantine_resubmit(line_id=line.pk, trade={"symbol": "EURUSD"}, user=trusted_operator)
    result = quarantine_resubmit(line_id=line.pk, trade={}, user=trusted_operator)
    assert result.created == 1 and Trade.objects.get().symbol == "NEWSYM"


# -- who may decide: every persona ---------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "may_view", "may_resubmit"),
    [
        ("reviewer", False, False),
        ("risk manager", False, False),
        ("model manager", False, False),
        ("operator", True, False),
        ("trusted operator", True, True),
        ("superuser", True, True),
    ],
)
def test_each_persona_reaches_the_quarantine_as_its_permissions_say(
    client, django_user_model, bad_strategy_line, persona, may_view, may_resubmit
):
    groups = {
        "reviewer": "Reviewer",
        "risk manager": "Risk manager",
        "model manager": "Model manager",
    }
    if persona in groups:
        user = staff_member(django_user_model, persona.replace(" ", "-"), groups[persona])
    elif persona == "operator":
        user = operator_member(django_user_model, "op")
    elif persona == "trusted operator":
        user = operator_member(django_user_model, "op-trusted", "add_trade", "change_trade")
    else:
        user = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(user)
    assert client.get(resubmit_url(bad_strategy_line)).status_code == (200 if may_view else 403)
    response = post_resubmit(client, bad_strategy_line, {"strategy": "breakout"})
    assert response.status_code == (302 if may_resubmit else 403)
    assert Trade.objects.exists() == may_resubmit
    assert QuarantineResubmission.objects.exists() == may_resubmit
