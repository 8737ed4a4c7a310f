"""The weekly recap: a trader's week in one page (TradeZella's "weekly recap").

A week runs Monday to Sunday (UTC), and a trade belongs to the week it closed in, as in
every figure of the journal (journal.analytics.aggregates). The recap's figures are the
journal's own (journal.analytics.metrics.summary): net P&L, trades, win rate, R; then
the best and worst trades, the rule breaks (the notes' lines and the trades whose
review names a mistake) and the notes of each day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from journal.analytics import metrics
from journal.domain.r_multiple import r_multiple
from journal.instruments import common_currency
from journal.models import DailyNote, Trade, TradeStatus

BEST_AND_WORST = 3
EARLIEST, LATEST = date(1990, 1, 1), date(2100, 12, 31)
_ISO_WEEK = re.compile(r"(\d{4})-W(\d{2})")


class BadWeek(ValueError):
    """A week that cannot be read: the message says what to write."""


@dataclass
class RuleBreak:
    day: date
    text: str
    trade: Trade | None = None  # the trade whose review names the mistake


@dataclass
class WeekRecap:
    start: date
    account: str
    strategy: str
    summary: dict[str, Any]
    currency: str
    best: list[tuple[Trade, Any]] = field(default_factory=list)  # (trade, its R or None)
    worst: list[tuple[Trade, Any]] = field(default_factory=list)
    rule_breaks: list[RuleBreak] = field(default_factory=list)
    notes: list[DailyNote] = field(default_factory=list)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def label(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def previous(self) -> str:
        year, week, _ = (self.start - timedelta(days=7)).isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def next(self) -> str:
        year, week, _ = (self.start + timedelta(days=7)).isocalendar()
        return f"{year}-W{week:02d}"


def week_start(text: str, *, today: date) -> date:
    """The Monday of the week ``text`` names: ISO 2026-W24, or a day in it; ``today``'s
    week when empty. BadWeek when it names none."""
    text = (text or "").strip()
    if not text:
        day = today
    elif found := _ISO_WEEK.fullmatch(text):
        try:
            day = date.fromisocalendar(int(found[1]), int(found[2]), 1)
        except ValueError:
            raise BadWeek(f"{text[:20]!r} is not a week of the calendar") from None
    else:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise BadWeek(
                f"{text[:20]!r} is not a week: write 2026-W24 or a day such as 2026-06-10"
            ) from None
    if not EARLIEST <= day <= LATEST:
        raise BadWeek("a week from 1990 to 2100")
    return day - timedelta(days=day.weekday())


def week_recap(*, start: date, account: str = "", strategy: str = "") -> WeekRecap:
    """The recap of the week that starts on ``start`` (a Monday), for one account or
    strategy when given."""
    since = datetime.combine(start, time(), tzinfo=UTC)
    until = since + timedelta(days=7)
    trades = Trade.objects.filter(
        status=TradeStatus.CLOSED, closed_at__gte=since, closed_at__lt=until
    )
    notes = DailyNote.objects.filter(day__gte=start, day__lt=start + timedelta(days=7))
    if account:
        trades = trades.filter(account=account)
        notes = notes.filter(account__in=["", account])
    if strategy:
        trades = trades.filter(strategy=strategy)
        notes = notes.filter(strategy__in=["", strategy])
    recap = WeekRecap(
        start=start,
        account=account,
        strategy=strategy,
        summary=metrics.summary(trades),
        currency=common_currency(trades.values_list("symbol", flat=True).distinct()[:50]),
        notes=list(notes.select_related("written_by", "updated_by").order_by("day", "account")),
    )
    ordered = trades.select_related("review").order_by("pnl", "closed_at", "id")
    recap.worst = [(t, _r(t)) for t in ordered[:BEST_AND_WORST] if t.pnl < 0]
    recap.best = [
        (t, _r(t)) for t in trades.order_by("-pnl", "closed_at", "id")[:BEST_AND_WORST] if t.pnl > 0
    ]
    for note in recap.notes:
        recap.rule_breaks += [RuleBreak(note.day, text) for text in note.rules_broken_list]
    # A review's mistakes are tags (journal.tags): one rule break for each.
    with_mistakes = trades.filter(review__isnull=False).exclude(review__mistakes=[])
    for trade in with_mistakes.select_related("review").order_by("closed_at", "id")[:200]:
        recap.rule_breaks += [
            RuleBreak(trade.closed_at.date(), mistake, trade) for mistake in trade.review.mistakes
        ]
    recap.rule_breaks.sort(key=lambda item: item.day)
    return recap


def _r(trade: Trade):
    if trade.stop_loss is None or trade.exit_price is None:
        return None
    return r_multiple(trade.side, trade.entry_price, trade.exit_price, trade.stop_loss)
