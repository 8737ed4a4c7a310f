"""Demo trades for `manage.py demo`: four months of a small desk's journal that a trader
would believe.

Each instrument of the catalogue (journal.instruments) follows a daily random walk with
its market's typical volatility, so an entry is where that market was that day and a
trade held for hours moves tenths of a percent in FX, about a percent in an index. A
trade has an initial stop a fraction of the day's range away; it is stopped out, reaches
a 2R target or is closed in between, and its P&L is what the move is worth by the
instrument's point value, less commission (journal.write.checks.pnl_from_prices). Prices
are on their instrument's tick and sizes on its quantity step, so capture's checks
find nothing odd (journal.write.checks). They end where the desk's demo's hourly bars
(``hourly_bars``) begin, four days ago: those days' trades are the desk's ideas'
(``idea_records``, serving.demo), priced from the same bars, so that no trade is measured
against bars of another price path (the MAE of 4.44 R on a trade stopped out at -1.03 R
was a trade of the daily walk against the hourly walk's bars). Times fall in the
instruments' trading hours (crypto trades at weekends too). Most trades
were proposed by the registry's demo models (their name@version), some were manual; a
seventh are reviewed with a grade and tags. The trades that the desk's ideas caused are
recorded by desk.demo through ``idea_records``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from journal.write.capture import record_trades

DAYS = 120
BAR_HOURS = 96  # the hourly bars the desk's demo stores: the last four days


@dataclass(frozen=True)
class Market:
    price: Decimal  # where it stood DAYS days ago
    daily_vol: float  # typical daily move, a fraction of the price
    commission: Decimal  # per lot, contract or (crypto) per unit of notional
    weekends: bool = False


MARKETS = {
    "EURUSD": Market(Decimal("1.0850"), 0.005, Decimal(7)),
    "GBPUSD": Market(Decimal("1.2650"), 0.006, Decimal(7)),
    "AUDUSD": Market(Decimal("0.6550"), 0.007, Decimal(7)),
    "XAUUSD": Market(Decimal("2350.00"), 0.010, Decimal(5)),
    "US500": Market(Decimal("5200.00"), 0.010, Decimal("4.5")),
    "NAS100": Market(Decimal("18300.00"), 0.013, Decimal("4.5")),
    "BTCUSD": Market(Decimal("64000.00"), 0.030, Decimal("0.001"), True),
}
# What a trade risks at its stop, in USD (every demo market is quoted in USD): 0.1 % to
# 0.3 % of the desk's 250,000, the sizes a risk manager's limits allow.
RISK_BUDGETS = (250, 300, 400, 500, 500, 600, 750)
STRATEGIES = ("breakout", "mean-reversion", "trend-follow")
ACCOUNTS = ("desk-main", "desk-hedge")
# The registry's demo models (models_registry.demo: trade-outcome-xgboost and -lightgbm,
# version 1 on a new database), or nobody: a trader's own call.
MODELS = ("trade-outcome-xgboost@1",) * 6 + ("trade-outcome-lightgbm@1",) * 3 + ("",)
TAGS = ("breakout", "news", "london-open", "ny-open", "chased", "patient", "moved-stop")


def daily_closes(rng: random.Random, start: datetime, days: int) -> dict[str, list[Decimal]]:
    """Each market's price at the start of each day: a random walk at its volatility."""
    paths = {}
    for symbol, market in MARKETS.items():
        level, path = float(market.price), []
        for _ in range(days + 2):
            path.append(level)
            level *= math.exp(rng.gauss(0, market.daily_vol))
        paths[symbol] = path
    return paths


def on_tick(value: Decimal, symbol: str) -> Decimal:
    """``value`` rounded to the nearest tick of ``symbol``'s instrument (US500 in
    quarter points), written with its price decimals."""
    from journal.instruments import CATALOGUE

    tick, decimals = Decimal(CATALOGUE[symbol][3]), CATALOGUE[symbol][4]
    ticks = (value / tick).to_integral_value(rounding=ROUND_HALF_EVEN)
    return (ticks * tick).quantize(Decimal(1).scaleb(-decimals))


def _price(value: float, symbol: str) -> Decimal:
    return on_tick(Decimal(repr(value)), symbol)


def _opened(rng: random.Random, day: datetime, market: Market) -> datetime | None:
    """A time on ``day`` in the market's hours (07:00 to 20:00 UTC on weekdays)."""
    if day.weekday() >= 5 and not market.weekends:
        return None
    minutes = rng.randint(7 * 60, 20 * 60) if not market.weekends else rng.randint(0, 1439)
    return day + timedelta(minutes=minutes, seconds=rng.randint(0, 59))


def sized(symbol: str, budget: int, risk: float) -> tuple[Decimal, float]:
    """(quantity, stop distance): as many steps of the instrument as ``budget`` USD pays
    for at a stop ``risk`` away, at least one step; where one step would risk more than
    the budget, the stop is drawn in to what the budget pays for (an index trader's
    tight stop on one contract)."""
    from journal.instruments import CATALOGUE

    step, point_value = Decimal(CATALOGUE[symbol][5]), float(CATALOGUE[symbol][7])
    steps = int(budget / (risk * point_value * float(step)))
    if steps < 1:
        return step, budget / (point_value * float(step))
    return step * steps, risk


def trade_record(
    rng: random.Random,
    *,
    trade_id: str,
    symbol: str,
    side: str,
    opened: datetime,
    entry: Decimal,
    end: datetime,
    stop_distance: float | None = None,
    model_version: str = "",
    strategy: str = "",
) -> dict:
    """One trade in the record format: entry, stop, the move while held, the exit at the
    stop, at a 2R target or in between, and the P&L its size is worth."""
    from journal.instruments import CATALOGUE

    market = MARKETS[symbol]
    point_value = Decimal(CATALOGUE[symbol][7])
    direction = 1 if side == "long" else -1
    risk = stop_distance or float(entry) * market.daily_vol * rng.uniform(0.25, 0.6)
    quantity, risk = sized(symbol, rng.choice(RISK_BUDGETS), risk)
    stop = _price(float(entry) - direction * risk, symbol)
    hours = min(rng.lognormvariate(0.3, 0.9), 30.0)
    # A small edge when the signals agree: the model has something to learn.
    rsi = round(rng.uniform(15, 85), 1)
    trend = round(rng.uniform(-1, 1), 3)
    edge = ((50 - rsi) / 100 if side == "long" else (rsi - 50) / 100) + direction * trend * 0.1
    move = float(entry) * market.daily_vol * math.sqrt(hours / 24) * rng.gauss(edge, 1)
    if move <= -risk:  # stopped out, with a little slippage
        move, hours = -risk * rng.uniform(1.0, 1.08), hours * rng.uniform(0.2, 1)
    elif move >= 2 * risk:  # the 2R target
        move = 2 * risk
    exit_price = _price(float(entry) + direction * move, symbol)
    closed = opened + timedelta(hours=hours)
    notional = entry * quantity * point_value
    commission = market.commission * (notional if market.weekends else quantity)
    fees = commission.quantize(Decimal("0.01"))
    record = {
        "trade_id": trade_id,
        "executed_at": opened.isoformat(),
        "symbol": symbol,
        "side": side,
        "quantity": str(quantity),
        "entry_price": str(entry),
        "stop_loss": str(stop),
        "fees": str(fees),
        "strategy": strategy,
        "account": rng.choice(ACCOUNTS),
        "broker_order_id": f"BRK-{rng.randint(10**8, 10**9 - 1)}",
        "signals": {"rsi": rsi, "trend": trend, "volatility": round(rng.uniform(0.1, 2), 2)},
        "agent_votes": {
            "technical": rng.choice(("buy", "sell", "hold")),
            "sentiment": rng.choice(("buy", "sell", "hold")),
        },
        "model_version": model_version,
        "confidence": str(round(rng.uniform(0.55, 0.95), 2)) if model_version else "",
    }
    if closed < end:
        pnl = (exit_price - entry) * direction * quantity * point_value - fees
        record.update(
            closed_at=closed.isoformat(),
            exit_price=str(exit_price),
            pnl=str(pnl.quantize(Decimal("0.01"))),
        )
    return record


def history_anchor(now: datetime) -> datetime:
    """Midnight UTC of the Monday after ``now``: the demo's history is drawn back from it,
    so every instant of a week meets the same past (and the same weekdays); what lies
    after the hourly bars begin is left out (demo_records)."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(days=7 - midnight.weekday())


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def walk_bars(
    rng: random.Random,
    bars: list[tuple],
    *,
    side: str,
    opened: datetime,
    stop: Decimal | None,
    target: Decimal | None,
) -> tuple[Decimal | None, datetime | None]:
    """(exit price, close time) of a trade opened at ``opened`` walked through hourly
    ``bars`` (time, open, high, low, close) for one to eight hours: stopped out in the
    first bar whose range reaches the stop (at the stop, or at the bar's open when it
    opened beyond it), taken at the target likewise, else closed at the last bar's
    close; (None, None) when no bar is left to close it in."""
    direction = 1 if side == "long" else -1
    ahead = [b for b in bars if b[0] + timedelta(hours=1) > opened]
    exit_price = closed = None
    for at, open_, high, low, close in ahead[: rng.randint(1, 8)]:
        # Within the bar: after the entry in the bar that holds it.
        inside = max(at, opened) - at
        worst, best = (low, high) if direction > 0 else (high, low)
        if stop is not None and worst * direction <= stop * direction:
            gapped = open_ * direction < stop * direction and at > opened
            return (open_ if gapped else stop), _later(rng, at, inside, opened)
        if target is not None and best * direction >= target * direction:
            gapped = open_ * direction > target * direction and at > opened
            return (open_ if gapped else target), _later(rng, at, inside, opened)
        exit_price, closed = close, at + timedelta(hours=1)
    return exit_price, closed


def _later(rng: random.Random, at: datetime, inside: timedelta, opened: datetime) -> datetime:
    """A moment of the bar from ``at`` after ``inside`` of it (and after ``opened``)."""
    first = int(inside.total_seconds() // 60) + 1
    return max(
        at + timedelta(minutes=rng.randint(min(first, 59), 59)), opened + timedelta(seconds=30)
    )


def demo_records(count: int = 600, *, seed: int = 7, now: datetime | None = None) -> list[dict]:
    """Reproducible trades: the same ids every run, so a second demo stores nothing new.
    They are opened and closed before the hourly bars begin (BAR_HOURS before ``now``):
    the trades of those hours are the desk's ideas', walked through the bars."""
    rng = random.Random(seed)
    moment = _now(now)
    anchor = history_anchor(moment)
    first = anchor - timedelta(days=DAYS)
    paths = daily_closes(rng, first, DAYS)
    bars_begin = moment.replace(minute=0, second=0, microsecond=0) - timedelta(hours=BAR_HOURS)
    drawn: list[dict] = []
    while len(drawn) < count:
        symbol = rng.choice(list(MARKETS))
        day_index = rng.randint(0, DAYS - 1)
        opened = _opened(rng, first + timedelta(days=day_index), MARKETS[symbol])
        if opened is None:
            continue
        level = paths[symbol][day_index] * (1 + rng.gauss(0, 0.3) * MARKETS[symbol].daily_vol)
        drawn.append(
            trade_record(
                rng,
                trade_id=f"DEMO-{len(drawn):05d}",
                symbol=symbol,
                side=rng.choice(("long", "short")),
                opened=opened,
                entry=_price(level, symbol),
                end=anchor + timedelta(days=1),
                model_version=rng.choice(MODELS),
                strategy=rng.choice(STRATEGIES),
            )
        )
    # Drawn the same for every instant of the week; kept when closed before the bars
    # begin (one still open then is not made).
    cutoff = bars_begin - timedelta(minutes=30)
    records = [
        record
        for record in drawn
        if datetime.fromisoformat(record["executed_at"]) < cutoff
        and "closed_at" in record
        and datetime.fromisoformat(record["closed_at"]) <= bars_begin
    ]
    return records


def latest_price(symbol: str, now: datetime | None = None) -> float:
    """Where the demo journal's random walk of ``symbol`` stands on ``now``'s day."""
    moment = _now(now)
    anchor = history_anchor(moment)
    first = anchor - timedelta(days=DAYS)
    day = min((moment - first).days, DAYS)
    return daily_closes(random.Random(7), first, DAYS)[symbol][day]


def hourly_bars(symbol: str, *, now: datetime, hours: int = BAR_HOURS) -> list[tuple]:
    """(time, open, high, low, close) of the last ``hours`` hourly bars of ``symbol``,
    from today's level at the market's hourly volatility: the desk's demo snapshots
    store them, and the trades of its ideas take their exits from them."""
    rng = random.Random(f"bars-{symbol}")
    market = MARKETS[symbol]
    sigma = market.daily_vol / math.sqrt(24)
    level = latest_price(symbol, now)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    bars = []
    for hour in range(hours + 1):  # the last one is forming now
        close = level * math.exp(rng.gauss(0, sigma))
        high = max(level, close) * (1 + abs(rng.gauss(0, sigma / 2)))
        low = min(level, close) * (1 - abs(rng.gauss(0, sigma / 2)))
        bars.append(
            (
                start + timedelta(hours=hour),
                _price(level, symbol),
                _price(high, symbol),
                _price(low, symbol),
                _price(close, symbol),
            )
        )
        level = close
    return bars


def broker_stop(idea) -> Decimal | None:
    """The stop a person set at the broker for an idea approved without one (the demo's
    override says so): a range's width beyond the far end of its entry range."""
    low, high = idea.entry_range_low, idea.entry_range_high
    if low is None or high is None:
        return None
    width = high - low
    return on_tick(low - width if idea.direction == "long" else high + width, idea.symbol)


def idea_records(
    ideas, *, now: datetime | None = None, seed: int = 13, decided_at: datetime | None = None
) -> list[dict]:
    """The trades the desk's executed ideas caused, walked through the hourly bars: each
    opened minutes after its idea (after ``decided_at``, the moment a person approved
    it, where one did) at the idea's entry, by the model version that proposed it;
    stopped out at the idea's stop, taken at its target, or closed after a few hours at
    the bar's close (still open when that is after ``now``)."""
    from journal.instruments import CATALOGUE

    rng = random.Random(seed)
    end = now or datetime.now(UTC)
    records = []
    for idea in ideas:
        # Filled minutes later, within the hour whose bar gave the idea its entry.
        # A fill never comes before the decision that allowed it: an account snapshot
        # taken before the decision cannot have missed a trade that closed before it.
        start = max(idea.created_at, decided_at) if decided_at else idea.created_at
        hour_end = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        delay = min(timedelta(minutes=rng.randint(1, 20)), (hour_end - start) * 0.9)
        opened = start + delay
        direction = 1 if idea.direction == "long" else -1
        stop = idea.stop_loss if idea.stop_loss is not None else broker_stop(idea)
        exit_price, closed = walk_bars(
            rng,
            hourly_bars(idea.symbol, now=end),
            side=idea.direction,
            opened=opened,
            stop=stop,
            target=idea.take_profit,
        )
        quantity = idea.lot_size or Decimal(1)
        point_value = Decimal(CATALOGUE[idea.symbol][7])
        fees = (MARKETS[idea.symbol].commission * quantity).quantize(Decimal("0.01"))
        record = {
            "trade_id": f"IDEA-{idea.pk:05d}",
            "executed_at": opened.isoformat(),
            "symbol": idea.symbol,
            "side": idea.direction,
            "quantity": str(quantity),
            "entry_price": str(idea.entry_price),
            "stop_loss": str(stop) if stop is not None else "",
            "fees": str(fees),
            "strategy": idea.strategy.name if idea.strategy else "",
            "account": "desk-main",
            "model_version": idea.model_version,
            "confidence": str(idea.confidence_score),
            "idea_id": idea.pk,
        }
        if closed is not None and closed <= end and closed > opened:
            pnl = (exit_price - idea.entry_price) * direction * quantity * point_value - fees
            record.update(
                closed_at=closed.isoformat(),
                exit_price=str(exit_price),
                pnl=str(pnl.quantize(Decimal("0.01"))),
            )
        records.append(record)
    return records


def account_history(
    *, account: str, times: list[datetime], bars_now: datetime | None = None
) -> list[dict]:
    """The account as the journal makes it at each of ``times``: balance = a starting
    balance plus the closed P&L so far; equity = balance plus the open trades' P&L at
    the last hourly bar's close (where there is one); margin 2 % of the open notional.
    ``bars_now``: the moment the demo's hourly bars were drawn back from (the latest of
    ``times`` when not given)."""
    from django.db.models import Q

    from backoffice.core.db.money import ExactSum
    from journal.instruments import CATALOGUE
    from journal.models import Trade

    bars = {symbol: hourly_bars(symbol, now=bars_now or max(times)) for symbol in MARKETS}
    out = []
    for moment in times:
        trades = Trade.objects.filter(account=account)
        closed = trades.filter(status="closed", closed_at__lte=moment)
        balance = STARTING_BALANCE + (closed.aggregate(total=ExactSum("pnl"))["total"] or 0)
        still_open = trades.filter(executed_at__lte=moment).filter(
            Q(closed_at__gt=moment) | Q(closed_at__isnull=True)
        )
        open_pl = margin = Decimal(0)
        for trade in still_open:
            point_value = Decimal(CATALOGUE[trade.symbol][7]) if trade.symbol in CATALOGUE else 1
            margin += trade.entry_price * trade.quantity * point_value * Decimal("0.02")
            marks = [
                b[4] for b in bars.get(trade.symbol, []) if b[0] + timedelta(hours=1) <= moment
            ]
            if marks:
                move = (marks[-1] - trade.entry_price) * (1 if trade.side == "long" else -1)
                open_pl += move * trade.quantity * point_value
        equity = balance + open_pl
        out.append(
            {
                "captured_at": moment,
                "balance": balance.quantize(Decimal("0.01")),
                "equity": equity.quantize(Decimal("0.01")),
                "open_pl": open_pl.quantize(Decimal("0.01")),
                "margin_used": margin.quantize(Decimal("0.01")),
                "margin_free": (equity - margin).quantize(Decimal("0.01")),
                "open_positions": still_open.count(),
            }
        )
    return out


STARTING_BALANCE = Decimal(250_000)


def _reviews(trade_ids: list[str], seed: int = 3) -> int:
    """A seventh of the closed demo trades reviewed by the demo user, graded and tagged."""
    from django.contrib.auth import get_user_model

    from journal.models import Trade, TradeReview
    from journal.reviews import trade_review

    reviewer = get_user_model().objects.filter(username="admin").first()
    if reviewer is None:
        return 0
    rng = random.Random(seed)
    reviewed = set(TradeReview.objects.values_list("trade_id", flat=True))
    count = 0
    closed = Trade.objects.filter(trade_id__in=trade_ids, status="closed").order_by("trade_id")
    for trade in closed[::7]:
        if trade.pk in reviewed:
            continue
        good = trade.pnl > 0
        trade_review(
            trade=trade,
            reviewer=reviewer,
            status="reviewed",
            grade=rng.choice(("A", "B", "B") if good else ("B", "C", "D")),
            tags=rng.sample(TAGS, rng.randint(1, 2)),
            notes="Followed the plan." if good else "Entered late; the stop was right.",
        )
        count += 1
    return count


def seed(now: datetime | None = None) -> str:
    from journal.instruments import instruments_seed

    instruments_seed()
    records = demo_records(now=now)
    created = duplicates = 0
    for start in range(0, len(records), 500):
        result = record_trades(records[start : start + 500], source="demo")
        created += result.created
        duplicates += result.duplicates
    reviews = _reviews([r["trade_id"] for r in records])
    return f"{created} trades recorded ({duplicates} already there), {reviews} reviewed"
