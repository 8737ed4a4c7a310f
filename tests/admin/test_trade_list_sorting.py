"""The trade list sorts by a trade's figures (issue 29): P&L, R, close time, holding time.

- Sorting by R equals sorting by the R the page shows (a hypothesis property over
  journals of trades with and without stops, open and closed): the database's R
  expression (journal.analytics.trade_figures, what its index holds) and the page's
  (journal.domain.r_multiple) agree.
- A figure's sort lists the trades that have the figure, says so, and reads a period: a
  sort without one is sent to the last 30 days, its other filters kept.
- Each sort is an index walk on PostgreSQL: the expression indexes of migration 0018
  match the expressions the list sorts by (a planner told not to sort or scan the
  table still answers the page from them).
"""

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journal.admin.trades import TradeAdmin
from journal.domain.r_multiple import r_multiple
from journal.models import Trade
from journal.write.capture import record_trades
from tests.admin.conftest import make_trades, recent
from tests.journal.conftest import open_trade_data, trade_data

LIST = "/admin/journal/trade/"


def column(name: str, *, actions: bool = True) -> int:
    """The changelist's index of a column (the action checkbox is column 0)."""
    return list(TradeAdmin.list_display).index(name) + (1 if actions else 0)


def rows(response) -> list[str]:
    html = response.content.decode()
    ids = re.findall(r'href="/admin/journal/trade/(\d+)/change/', html)
    by_pk = dict(Trade.objects.filter(pk__in=ids).values_list("pk", "trade_id"))
    return [by_pk[int(pk)] for pk in dict.fromkeys(ids)]


def shown_r(response) -> list[D]:
    """The R column of each row, as the page writes it ("+1.25 R")."""
    cells = re.findall(r'<td class="field-r_column">(.*?)</td>', response.content.decode())
    values = []
    for cell in cells:
        text = re.sub(r"<[^>]+>", "", cell).replace("\u2212", "-").strip()
        values.append(None if text == "—" else D(text.removesuffix(" R").replace(",", "")))
    return values


def sorted_by(client, name: str, descending: bool = False, **params):
    order = f"{'-' if descending else ''}{column(name)}"
    return client.get(LIST, {"o": order, "executed": "30d", **params})


# -- sorting by R is sorting by the R the page shows -------------------------------------

prices = st.decimals(min_value=D("1.00000"), max_value=D("1.20000"), places=5)
# The initial stop's distance from the entry (on the losing side, as capture requires).
risks = st.decimals(min_value=D("0.00001"), max_value=D("0.05000"), places=5)
journal = st.lists(
    st.tuples(
        st.sampled_from(["long", "short"]),
        prices,  # entry
        prices,  # exit
        st.one_of(st.none(), risks),  # stop distance, or no stop
        st.booleans(),  # closed
    ),
    min_size=1,
    max_size=25,
)


@pytest.mark.smoke
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(trades=journal)
def test_sorting_by_r_is_sorting_by_the_r_the_page_shows(reviewer_client, trades):
    Trade.objects.all().delete()
    records = []
    trades = [
        (
            side,
            entry,
            exit_price,
            None if risk is None else entry - risk * (1 if side == "long" else -1),
            closed,
        )
        for side, entry, exit_price, risk, closed in trades
    ]
    for n, (side, entry, exit_price, stop, closed) in enumerate(trades):
        fields = {
            "trade_id": f"R-{n}",
            "opened": recent(1 + n % 20, hour=9 + n % 8),
            "side": side,
            "entry_price": str(entry),
            "stop_loss": None if stop is None else str(stop),
        }
        if closed:
            records.append(trade_data(exit_price=str(exit_price), pnl="1.00", **fields))
        else:
            records.append(open_trade_data(**fields))
    record_trades(records)
    expected = {
        f"R-{n}": r_multiple(side, entry, exit_price if closed else None, stop)
        for n, (side, entry, exit_price, stop, closed) in enumerate(trades)
    }
    with_r = {key for key, value in expected.items() if value is not None}
    for descending in (False, True):
        response = sorted_by(reviewer_client, "r_column", descending)
        listed, shown = rows(response), shown_r(response)
        assert set(listed) == with_r  # open trades and trades without a stop: not listed
        exact = [expected[key] for key in listed]
        assert exact == sorted(exact, reverse=descending)
        assert shown == sorted(shown, reverse=descending)
        # What the page shows is that R, to two places.
        assert shown == [value.quantize(D("0.01")) for value in exact]


# -- P&L, close time, holding time -----------------------------------------------------------


@pytest.mark.smoke
def test_the_worst_trades_come_first_and_open_ones_are_left_out(reviewer_client):
    make_trades(1, trade_id="WIN", pnl="250.00")
    make_trades(1, trade_id="SMALL-LOSS", pnl="-10.00", start_days_ago=2)
    make_trades(1, trade_id="WORST", pnl="-900.00", start_days_ago=3)
    record_trades([open_trade_data(trade_id="STILL-OPEN", opened=recent(0, hour=1))])
    worst_first = sorted_by(reviewer_client, "pnl_checks")
    assert rows(worst_first) == ["WORST", "SMALL-LOSS", "WIN"]
    note = re.search(r'id="order-note">([^<]*)<', worst_first.content.decode()).group(1)
    assert note.startswith("Sorted by P&amp;L: only the trades that have one are listed")
    assert rows(sorted_by(reviewer_client, "pnl_checks", True)) == ["WIN", "SMALL-LOSS", "WORST"]
    assert "STILL-OPEN" in rows(reviewer_client.get(LIST))  # the time order lists it


@pytest.mark.smoke
def test_trades_sort_by_close_time_and_by_holding_time(reviewer_client):
    base = recent(3, hour=8)
    record_trades(
        [
            trade_data(
                trade_id=trade_id,
                opened=base + timedelta(hours=opened),
                closed_at=(base + timedelta(hours=closed)).isoformat(),
            )
            for trade_id, opened, closed in (("A", 0, 9), ("B", 1, 2), ("C", 2, 30))
        ]
    )
    assert rows(sorted_by(reviewer_client, "closed", True)) == ["C", "A", "B"]
    assert rows(sorted_by(reviewer_client, "held")) == ["B", "A", "C"]  # 1 h, 9 h, 28 h
    html = sorted_by(reviewer_client, "held").content.decode()
    assert "1 h 00 min" in html and "1 d 4 h" in html


@pytest.mark.smoke
def test_a_figure_sort_without_a_period_reads_the_last_30_days(reviewer_client):
    make_trades(1, trade_id="RECENT", pnl="5.00")
    make_trades(1, trade_id="OLD", pnl="-5.00", start_days_ago=45)
    order = str(column("pnl_checks"))
    response = reviewer_client.get(LIST, {"o": order, "symbol": "EURUSD", "p": "3"})
    assert response.status_code == 302
    target = response["Location"]
    assert "executed=30d" in target and "symbol=EURUSD" in target and "p=" not in target
    page = reviewer_client.get(target)
    assert rows(page) == ["RECENT"]
    assert re.search(r'class="selected">\s*<a href="[^"]*executed=30d', page.content.decode())
    # Any other period is kept as chosen, a close-time range too.
    for period in ({"executed": "90d"}, {"closed_from": "2000-01-01"}):
        kept = reviewer_client.get(LIST, {"o": order, **period})
        assert kept.status_code == 200, period
    assert rows(reviewer_client.get(LIST, {"o": order, "executed": "90d"})) == ["OLD", "RECENT"]
    # The time order needs no period.
    assert reviewer_client.get(LIST, {"o": str(column("time"))}).status_code == 200


@pytest.mark.smoke
def test_a_reader_without_actions_sorts_the_same_columns(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("vic", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_trade"))
    client.force_login(viewer)
    make_trades(2, pnl="-1.00")
    make_trades(1, pnl="3.00", start_days_ago=5)
    html = client.get(LIST).content.decode()
    has_actions = 'name="_selected_action"' in html
    order = str(column("pnl_checks", actions=has_actions))
    response = client.get(LIST, {"o": order})
    assert response.status_code == 302 and "executed=30d" in response["Location"]


# -- each sort walks its index (PostgreSQL) ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("r_column", "journal_trade_r_idx"),
        ("held", "journal_trade_held_idx"),
        ("pnl_checks", "journal_trade_pnl_idx"),
        ("closed", "journal_trade_closed_idx"),
    ],
)
def test_each_figure_sort_is_served_by_its_index(reviewer_client, name, index):
    if connection.vendor != "postgresql":
        pytest.skip("the expression indexes are PostgreSQL's")
    make_trades(30, stop_loss="1.08000")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE journal_trade")
    with CaptureQueriesContext(connection) as queries:
        assert sorted_by(reviewer_client, name, True).status_code == 200
    page_query = next(
        q["sql"]
        for q in queries
        if q["sql"].startswith('SELECT "journal_trade"."id"') and "ORDER BY" in q["sql"]
    )
    if "LIMIT" not in page_query:  # one page: Django reads it without a LIMIT
        page_query += " LIMIT 100"
    with connection.cursor() as cursor:
        # Told not to sort and not to read the table whole, the planner must find an
        # index whose expression is the one sorted by.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {page_query}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
