"""The trade list: columns, filters, search, and a page that never counts the whole table."""

import re
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journal.admin.support import TradePaginator
from journal.instruments import instruments_seed
from journal.models import Trade
from journal.reviews import trade_review
from tests.admin.conftest import make_trades

LIST = "/admin/journal/trade/"


def rows(response) -> list[str]:
    """The trade ids on the page, in order (the list links each row to its trade)."""
    html = response.content.decode()
    ids = re.findall(r'href="/admin/journal/trade/(\d+)/change/', html)
    by_pk = dict(Trade.objects.filter(pk__in=ids).values_list("pk", "trade_id"))
    return [by_pk[int(pk)] for pk in dict.fromkeys(ids)]


COLUMNS = {
    "time": "Opened",
    "trade": "Trade",
    "pnl_checks": "P&amp;L",
    "r_column": "R",
    "closed": "Closed",
    "held": "Held",
    "strategy_account": "Strategy / account / model",
    "review_status": "Review · tags",
}


@pytest.mark.smoke
def test_the_list_shows_the_columns_a_reviewer_needs(reviewer_client):
    make_trades(1, pnl="66.30")
    make_trades(1, pnl="-12.50", symbol="GBPUSD", start_days_ago=2)
    html = reviewer_client.get(LIST).content.decode()
    for name, label in COLUMNS.items():
        header = re.search(
            rf'<th scope="col" class="[^"]*column-{name}[^"]*">(.*?)</th>', html, re.S
        )
        assert header and label in header.group(1), name
    assert 'class="pnl-amount pnl-win">+66.30<' in html, "a win is green, with its sign"
    assert 'class="pnl-amount pnl-loss">-12.50<' in html, "a loss is red"
    assert html.count('class="review-unreviewed"') == 2


@pytest.mark.smoke
def test_trades_without_a_review_row_are_unreviewed_and_filters_find_them(
    reviewer_client, reviewer
):
    reviewed, flagged, untouched = make_trades(3)
    trade_review(trade=reviewed, reviewer=reviewer, status="reviewed")
    trade_review(trade=flagged, reviewer=reviewer, status="flagged", reason="size")
    assert rows(reviewer_client.get(LIST, {"review": "reviewed"})) == [reviewed.trade_id]
    assert rows(reviewer_client.get(LIST, {"review": "flagged"})) == [flagged.trade_id]
    assert rows(reviewer_client.get(LIST, {"review": "unreviewed"})) == [untouched.trade_id]


@pytest.mark.smoke
def test_filters_by_symbol_strategy_side_and_account(reviewer_client):
    make_trades(2)
    gbp = make_trades(1, symbol="GBPUSD", strategy="fade", side="short", account="desk-b")[0]
    no_strategy = make_trades(1, strategy="", start_days_ago=9)[0]
    for params in (
        {"symbol": "GBPUSD"},
        {"strategy": "fade"},
        {"side": "short"},
        {"account": "desk-b"},
        {"symbol": "GBPUSD", "side": "short", "account": "desk-b", "strategy": "fade"},
    ):
        assert rows(reviewer_client.get(LIST, params)) == [gbp.trade_id], params
    assert rows(reviewer_client.get(LIST, {"strategy": "__none__"})) == [no_strategy.trade_id]
    html = reviewer_client.get(LIST).content.decode()
    assert "?symbol=GBPUSD" in html and "?strategy=fade" in html and "(none)" in html


@pytest.mark.smoke
def test_the_time_range_filter_has_presets_and_from_to_days(reviewer_client):
    new, old = make_trades(1)[0], make_trades(1, start_days_ago=40)[0]
    assert rows(reviewer_client.get(LIST, {"executed": "7d"})) == [new.trade_id]
    assert rows(reviewer_client.get(LIST, {"executed": "90d"})) == [new.trade_id, old.trade_id]
    day = old.executed_at.date().isoformat()
    response = reviewer_client.get(LIST, {"executed_from": day, "executed_to": day})
    assert rows(response) == [old.trade_id]
    assert 'name="executed_from"' in response.content.decode()
    assert "date_hierarchy" not in response.content.decode()
    bad = reviewer_client.get(LIST, {"executed_from": "yesterday-ish"})
    assert bad.status_code == 400 and b"not a date (YYYY-MM-DD)" in bad.content


@pytest.mark.smoke
def test_search_matches_the_start_of_a_trade_id_broker_order_id_or_symbol(reviewer_client):
    a = make_trades(1, trade_id="DEMO-00352", broker_order_id="BRK-777")[0]
    b = make_trades(1, trade_id="DEMO-00410", symbol="GBPUSD", start_days_ago=3)[0]
    c = make_trades(1, trade_id="BOT-9", symbol="EURJPY", start_days_ago=4)[0]
    search = lambda term: rows(reviewer_client.get(LIST, {"q": term}))  # noqa: E731
    assert search("DEMO-00352") == [a.trade_id]
    assert search("demo") == [a.trade_id, b.trade_id]  # the start, in any case
    assert search("demo-003") == [a.trade_id]
    assert search("brk-7") == [a.trade_id]
    assert search("gbpusd") == [b.trade_id]  # a whole symbol: that symbol alone
    assert search("EUR") == [a.trade_id, c.trade_id]  # EURUSD and EURJPY
    assert search("00352") == []  # the middle of an id is no match
    assert search("%") == [] and search("_EMO") == []  # LIKE's wildcards are text
    assert search("x" * 10_000) == []
    assert search("<script>") == []


@pytest.mark.smoke
def test_the_list_is_newest_first_and_sorts_only_by_indexed_columns(reviewer_client):
    trades = make_trades(4)
    assert rows(reviewer_client.get(LIST)) == [t.trade_id for t in trades]
    html = reviewer_client.get(LIST).content.decode()
    # Opened, P&L, R, closed, held: each has its index (journal/0018).
    assert html.count('class="sortable') == 5


@pytest.mark.smoke
def test_the_page_count_of_queries_does_not_grow_with_the_rows(reviewer_client, reviewer):
    few = make_trades(3)
    for trade in few:
        trade_review(trade=trade, reviewer=reviewer, status="reviewed")
    with CaptureQueriesContext(connection) as small:
        assert reviewer_client.get(LIST).status_code == 200
    more = make_trades(40, start_days_ago=10, model_version="direction-xgb@3")
    for trade in more[:20]:
        trade_review(trade=trade, reviewer=reviewer, status="flagged", reason="late")
    with CaptureQueriesContext(connection) as large:
        assert reviewer_client.get(LIST).status_code == 200
    # One extra query at most: the page's model versions looked up in the registry at once.
    assert len(large) <= len(small) + 1, [q["sql"][:120] for q in large.captured_queries]
    assert len(large) <= 12


def test_the_list_never_counts_the_whole_trade_table(reviewer_client, monkeypatch):
    monkeypatch.setattr(TradePaginator, "cap", 5)
    make_trades(12)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE journal_trade")
    with CaptureQueriesContext(connection) as queries:
        response = reviewer_client.get(LIST)
    html = response.content.decode()
    assert 'data-count-kind="estimate"' in html and "about 12 trades" in html
    counts = [q["sql"] for q in queries if re.search(r"\bcount\(", q["sql"], re.I)]
    assert counts == [], counts
    assert any("reltuples" in q["sql"] for q in queries)
    page = next(q["sql"] for q in queries if 'FROM "journal_trade"' in q["sql"])
    assert re.search(
        r'ORDER BY "journal_trade"\."executed_at" DESC, "journal_trade"\."id" DESC', page
    ), page


def test_a_filtered_list_counts_at_most_the_cap_plus_one(reviewer_client, monkeypatch):
    monkeypatch.setattr(TradePaginator, "cap", 5)
    make_trades(12)
    with CaptureQueriesContext(connection) as queries:
        response = reviewer_client.get(LIST, {"symbol": "EURUSD"})
    assert "more than 5 trades" in response.content.decode()
    counts = [q["sql"] for q in queries if re.search(r"\bcount\(", q["sql"], re.I)]
    assert len(counts) == 1 and "LIMIT 6" in counts[0], counts


def test_the_page_query_walks_the_time_index(reviewer_client):
    make_trades(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE journal_trade")
        # A 30-row table is sorted whole; forbid that to see what serves the order.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_sort = off")
        try:
            cursor.execute(
                "EXPLAIN SELECT * FROM journal_trade ORDER BY executed_at DESC, id DESC LIMIT 100"
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_sort")
    assert "Index Scan using journal_trade_time_idx" in plan, plan
    assert "Incremental Sort" in plan and "Presorted Key: executed_at" in plan, plan


@pytest.mark.smoke
def test_a_model_version_known_to_the_registry_is_a_link(reviewer_client, django_user_model):
    from models_registry.models import ModelVersion, RegisteredModel

    registered = RegisteredModel.objects.create(name="direction-xgb")
    version = ModelVersion.objects.create(
        model=registered,
        version=3,
        framework="xgboost",
        artifact_path="artifacts/ab/abc.json",
        sha256="ab" * 32,
        size=10,
        output_kind="probability",
    )
    make_trades(1, model_version="direction-xgb@3")
    make_trades(1, model_version="unknown-model@1", start_days_ago=4)
    html = reviewer_client.get(LIST).content.decode()
    link = f'href="/admin/models_registry/modelversion/{version.pk}/change/">direction-xgb@3</a>'
    assert link in html
    assert "unknown-model@1" in html and "unknown-model@1</a>" not in html


@pytest.mark.smoke
def test_the_decimal_columns_keep_their_precision(reviewer_client):
    make_trades(1, quantity="0.12345678", symbol="ZZZUSD")  # no instrument: shown as stored
    assert D("0.12345678") == Trade.objects.get().quantity
    html = reviewer_client.get(LIST).content.decode()
    assert ">0.12345678<" in html and ">1.0845 → " in html  # no padding zeros, no rounding


@pytest.mark.smoke
def test_figures_are_written_by_their_instrument(reviewer_client):
    instruments_seed()
    make_trades(1, quantity="0.5", entry_price="1.0845", exit_price="1.0872", pnl="1234.5")
    make_trades(
        1,
        symbol="XAUUSD",
        quantity="2",
        entry_price="2376.3",
        exit_price="2370",
        pnl="-1260",
        start_days_ago=2,
    )
    html = reviewer_client.get(LIST).content.decode()
    for text in (
        ">0.5 lots<",  # not 0.50000000
        ">1.08450 → 1.08720<",  # EURUSD's five decimals
        ">+1,234.50 USD<",  # money: separators, a sign on gains, the currency
        ">2 lots<",
        ">2,376.30 → 2,370.00<",
        ">-1,260.00 USD<",
    ):
        assert text in html, text
    assert "0000000" not in html


@pytest.mark.smoke
def test_filters_by_review_tag_and_grade(reviewer_client, reviewer):
    fomo, patient, plain = make_trades(3)
    trade_review(trade=fomo, reviewer=reviewer, tags=["fomo", "late"], grade="D")
    trade_review(trade=patient, reviewer=reviewer, tags=["patience"], grade="A")
    assert rows(reviewer_client.get(LIST, {"tag": "fomo"})) == [fomo.trade_id]
    assert rows(reviewer_client.get(LIST, {"tag": "patience"})) == [patient.trade_id]
    assert rows(reviewer_client.get(LIST, {"tag": "fo"})) == []  # a whole tag
    assert rows(reviewer_client.get(LIST, {"grade": "A"})) == [patient.trade_id]
    assert rows(reviewer_client.get(LIST, {"grade": "__none__"})) == [plain.trade_id]
    assert rows(reviewer_client.get(LIST, {"grade": "D", "tag": "late"})) == [fomo.trade_id]
    html = reviewer_client.get(LIST).content.decode()
    for choice in ("?tag=fomo", "?tag=late", "?tag=patience", "?grade=A", "?grade=__none__"):
        assert f'href="{choice}"' in html, choice


@pytest.mark.parametrize(
    "params",
    [
        {"grade": "Z"},
        {"grade": "<script>alert(1)</script>"},
        {"tag": "x" * 10_000},
        "grade=%ED%A0%80",  # a lone surrogate, as a browser would send it
    ],
)
def test_a_hostile_tag_or_grade_is_a_clear_bad_request(reviewer_client, params):
    make_trades(1)
    if isinstance(params, str):
        response = reviewer_client.get(f"{LIST}?{params}")
    else:
        response = reviewer_client.get(LIST, params)
    assert response.status_code == 400, params
    assert b"cannot be filtered so" in response.content
    assert b"<script>alert" not in response.content


def test_an_unknown_or_odd_tag_finds_nothing(reviewer_client, reviewer):
    trade = make_trades(1)[0]
    trade_review(trade=trade, reviewer=reviewer, tags=["fomo"])
    for tag in ("nobody-uses-this", "<script>", '"fomo"', "fomo%", "%ED%A0%80", "%00"):
        response = reviewer_client.get(f"{LIST}?tag={tag}")
        assert response.status_code in (200, 400) and rows(response) == [], tag
        assert response.status_code == (400 if tag == "%00" else 200), tag


@pytest.mark.smoke
def test_times_read_utc_24_hours_and_the_page_says_so_once(reviewer_client):
    make_trades(1)
    trade = Trade.objects.get()
    html = reviewer_client.get(LIST).content.decode()
    # The day and the minute may break apart in a narrow column, never inside.
    assert f'>{trade.executed_at:%Y-%m-%d}</span> <span class="nowrap">' in html
    assert f"{trade.executed_at:%Y-%m-%d %H:%M}" in re.sub(r"<[^>]+>", "", html)
    assert html.count("Times in UTC") == 1
    page = reviewer_client.get(f"/admin/journal/trade/{trade.pk}/change/").content.decode()
    assert f"{trade.executed_at:%Y-%m-%d %H:%M}" in page and "a.m." not in page
    assert page.count("Times in UTC") == 1
    # Days are typed as yyyy-mm-dd, never mm/dd/yyyy.
    assert 'placeholder="yyyy-mm-dd"' in html and 'type="date"' not in html


def test_a_new_tag_is_in_the_filter_at_once_and_signals_read_as_a_table(
    reviewer_client, reviewer, django_capture_on_commit_callbacks
):
    (trade,) = make_trades(1, signals={"rsi": 31.5, "macd": {"hist": -0.2}, "tags": ["a", "b"]})
    assert "?tag=" not in reviewer_client.get(LIST).content.decode()  # no tag yet, cached
    with django_capture_on_commit_callbacks(execute=True):
        trade_review(trade=trade, reviewer=reviewer, tags=["breakout-retest"])
    assert "?tag=breakout-retest" in reviewer_client.get(LIST).content.decode()
    page = reviewer_client.get(f"{LIST}{trade.pk}/change/").content.decode()
    for row in ("<th scope='row'>rsi</th><td>31.5</td>", "<th scope='row'>macd.hist</th>"):
        assert row in page
    assert "<th scope='row'>tags</th><td>a, b</td>" in page and "json-block" not in page
