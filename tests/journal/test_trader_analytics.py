"""The trader's figures on cases worked out by hand: R-multiples, expectancy in R, the R
histogram, breakdowns by side, weekday, hour, grade and tag, the P&L calendar, and the
report of the stored daily rows against the same report from the trades."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from journal.analytics import calendar, metrics, sources
from journal.models import Trade
from journal.reviews import trade_review
from journal.write.capture import record_trades
from tests.journal.conftest import trade_data

pytestmark = [pytest.mark.smoke, pytest.mark.django_db, pytest.mark.usefixtures("awkward_clock")]


def trade(trade_id, opened, *, side="long", entry, exit, stop=None, pnl, hours=1, **extra):
    return trade_data(
        trade_id=trade_id,
        opened=opened,
        closed_at=(opened + timedelta(hours=hours)).isoformat(),
        side=side,
        entry_price=str(entry),
        exit_price=str(exit),
        stop_loss=None if stop is None else str(stop),
        pnl=str(pnl),
        **extra,
    )


MON = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday


@pytest.fixture
def journal(db):
    """Five closed trades, three with a stop.

    R1 long  100 -> 103, stop 98   (risk 2):  +1.5 R, pnl +300, Mon opened 09:30, 1 h
    R2 short 50 -> 51,   stop 51   (risk 1):  -1.0 R, pnl -100, Mon opened 14:30, 2 h
    R3 long  10 -> 10.5, stop 9.5  (risk .5): +1.0 R, pnl  +50, Tue opened 09:30, 1 h
    R4 long  20 -> 19,   no stop:            no R,    pnl -100, Wed opened 09:30, 4 h
    R5 short 30 -> 29,   no stop:            no R,    pnl    0, Wed opened 23:30, 1 h
       (R5 closes on Thursday 00:30: it counts on Thursday)
    """
    record_trades(
        [
            trade("R1", MON, entry=100, exit=103, stop=98, pnl=300),
            trade(
                "R2",
                MON + timedelta(hours=5),
                side="short",
                entry=50,
                exit=51,
                stop=51,
                pnl=-100,
                hours=2,
            ),
            trade("R3", MON + timedelta(days=1), entry=10, exit="10.5", stop="9.5", pnl=50),
            trade("R4", MON + timedelta(days=2), entry=20, exit=19, pnl=-100, hours=4),
            trade("R5", MON + timedelta(days=2, hours=14), side="short", entry=30, exit=29, pnl=0),
        ]
    )
    return {t.trade_id: t for t in Trade.objects.all()}


def test_r_multiples_expectancy_in_r_and_the_histogram(journal):
    report = metrics.report()
    s = report["summary"]
    assert s["r_trades"] == 3
    # (+1.5 - 1 + 1) / 3
    assert s["expectancy_r"] == pytest.approx(D("0.5"))
    assert s["average_win_r"] == pytest.approx(D("1.25"))
    assert s["average_loss_r"] == pytest.approx(D(-1))
    counts = {
        (row["low"], row["high"]): row["trades"] for row in report["r_histogram"] if row["trades"]
    }
    assert counts == {(D(-1), D("-0.5")): 1, (D(1), D("1.5")): 1, (D("1.5"), D(2)): 1}
    assert sum(row["trades"] for row in report["r_histogram"]) == 3
    first, last = report["r_histogram"][0], report["r_histogram"][-1]
    assert (first["low"], first["high"]) == (None, D(-3))
    assert (last["low"], last["high"]) == (D(5), None)


def test_an_r_beyond_the_histogram_lands_in_its_open_ends(db):
    record_trades(
        [
            trade("FAR-UP", MON, entry=100, exit=130, stop=99, pnl=3000),  # +30 R
            trade("FAR-DOWN", MON, entry=100, exit=90, stop=99, pnl=-1000),  # -10 R
            trade("AT-5", MON, entry=100, exit=105, stop=99, pnl=500),  # exactly +5 R
        ]
    )
    histogram = metrics.report()["r_histogram"]
    assert histogram[0]["trades"] == 1 and histogram[-1]["trades"] == 2


def test_holding_time_side_weekday_and_hour(journal):
    report = metrics.report()
    # 1 + 2 + 1 + 4 + 1 hours over 5 trades
    assert report["summary"]["average_holding"] == timedelta(hours=9) / 5
    sides = {row["side"]: (row["trades"], row["wins"], row["net_pnl"]) for row in report["by_side"]}
    assert sides == {"long": (3, 2, D(250)), "short": (2, 0, D(-100))}
    weekdays = {
        row["weekday"]: (row["days"], row["trades"], row["net_pnl"]) for row in report["by_weekday"]
    }
    assert weekdays["Monday"] == (1, 2, D(200))
    assert weekdays["Tuesday"] == (1, 1, D(50))
    assert weekdays["Wednesday"] == (1, 1, D(-100))
    assert weekdays["Thursday"] == (1, 1, D(0))  # R5 closed after midnight
    assert weekdays["Sunday"] == (0, 0, D(0))
    assert report["by_weekday"][6]["win_rate"] is None
    hours = {
        row["hour"]: (row["trades"], row["net_pnl"]) for row in report["by_hour"] if row["trades"]
    }
    # opened at 09:30 (R1, R3, R4), 14:30 (R2), 23:30 (R5)
    assert hours == {9: (3, D(250)), 14: (1, D(-100)), 23: (1, D(0))}


def test_grades_and_tags_of_the_reviews(journal, django_user_model):
    rita = django_user_model.objects.create_user("rita", is_staff=True)
    trade_review(trade=journal["R1"], reviewer=rita, grade="A", tags=["breakout", "news"])
    trade_review(trade=journal["R2"], reviewer=rita, grade="C", tags=["news"])
    trade_review(trade=journal["R4"], reviewer=rita, grade="A")
    trade_review(trade=journal["R5"], reviewer=rita, notes="no grade, no tag")
    report = metrics.report()
    grades = {
        row["grade"]: (row["trades"], row["net_pnl"], row["expectancy_r"])
        for row in report["by_grade"]
    }
    assert grades == {"A": (2, D(200), pytest.approx(D("1.5"))), "C": (1, D(-100), D(-1))}
    tags = [(row["tag"], row["trades"], row["net_pnl"]) for row in report["by_tag"]]
    assert tags == [("breakout", 1, D(300)), ("news", 2, D(200))]


def test_the_stored_rows_give_the_report_of_the_trades(journal):
    where = sources.DayFilter(since=date(2026, 3, 2), until=date(2026, 3, 6))
    assert metrics.report_of(where) == metrics.report(sources.trades_of(where))
    only_monday = metrics.report_of(sources.DayFilter(since=MON.date(), until=date(2026, 3, 3)))
    assert only_monday["summary"]["trades"] == 2


def test_the_calendar_is_a_month_of_weeks_with_shaded_days():
    days = [
        {"day": date(2026, 3, 2), "net_pnl": D(400), "trades": 3},
        {"day": date(2026, 3, 3), "net_pnl": D(-100), "trades": 1},
        {"day": date(2026, 3, 31), "net_pnl": D(0), "trades": 2},
        {"day": date(2026, 4, 1), "net_pnl": D(150), "trades": 1},
    ]
    months, left_out = calendar.months(days)
    assert left_out == 0 and [m.title for m in months] == ["March 2026", "April 2026"]
    march = months[0]
    # March 2026 starts on a Sunday: its first week is six empty cells and the 1st.
    assert [cell is None for cell in march.weeks[0]] == [True] * 6 + [False]
    monday = march.weeks[1][0]
    assert (monday.day, monday.net_pnl, monday.shade, monday.sign) == (
        date(2026, 3, 2),
        D(400),
        4,
        "up",
    )
    tuesday = march.weeks[1][1]
    assert (tuesday.shade, tuesday.sign) == (1, "down")  # a quarter of the largest day
    assert march.weeks[1][2].sign == "none"  # no trade that Wednesday
    assert (march.net_pnl, march.trades, march.days_up, march.days_down) == (D(300), 6, 1, 1)
    assert calendar.months(days, limit=1)[1] == 1


def test_daily_pnl_keeps_its_meaning_for_the_risk_gate(journal):
    assert metrics.daily_pnl(since=date(2026, 3, 3), until=date(2026, 3, 5)) == [
        {"day": date(2026, 3, 3), "trades": 1, "wins": 1, "losses": 0, "net_pnl": D(50)},
        {"day": date(2026, 3, 4), "trades": 1, "wins": 0, "losses": 1, "net_pnl": D(-100)},
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_stop_and_the_idea_survive_export_and_both_imports(tmp_path, fmt):
    """stop_loss and idea_id through export_trades and import_trades (the CSV fast path on
    PostgreSQL, the row-by-row path for JSON lines and a CSV it does not take), and the
    R-multiple of the re-imported trades."""
    import io

    from django.core.management import call_command
    from django.db import connection

    from tests.journal.conftest import existing_ideas

    existing_ideas(41)  # a trade names only an idea that exists
    record_trades(
        [
            trade("S1", MON, entry=100, exit=103, stop=98, pnl=300, idea_id=41),
            trade("S2", MON, side="short", entry=50, exit=51, stop=51, pnl=-100),
            trade("S3", MON, entry=20, exit=19, pnl=-100),
        ]
    )
    fields = ("trade_id", "stop_loss", "idea_id")
    before = list(Trade.objects.order_by("trade_id").values_list(*fields))
    assert before[0] == ("S1", D(98), 41) and before[2] == ("S3", None, None)
    exported = tmp_path / f"out.{fmt}"
    call_command(
        "export_trades", "--format", fmt, "-o", str(exported), "--no-progress", stderr=io.StringIO()
    )
    paths = [exported]
    if fmt == "csv":  # the same file with a lower-case symbol: the row-by-row path
        slow = tmp_path / "slow.csv"
        slow.write_text(exported.read_text().replace("EURUSD", "eurusd"))
        paths.append(slow)
    for path in paths:
        Trade.objects.all().delete()
        out = io.StringIO()
        call_command("import_trades", str(path), "--no-progress", stdout=out)
        if connection.vendor == "postgresql":
            fast = fmt == "csv" and path == exported
            assert ("(fast_copy)" if fast else "(copy)") in out.getvalue(), out.getvalue()
        assert list(Trade.objects.order_by("trade_id").values_list(*fields)) == before
        assert metrics.report()["summary"]["expectancy_r"] == pytest.approx(D("0.25"))
