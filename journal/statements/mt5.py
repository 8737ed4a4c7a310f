"""MetaTrader 5's trade history report (History > Report > HTML): its Positions.

The report is one HTML table (UTF-16 with a BOM, as the terminal saves it): a header
block ("Account:" and the account's number, currency and type), then sections, each
a row with its title ("Positions", "Orders", "Deals", "Open Positions", "Working
Orders", "Results"), a row of column names, and its rows. A row of "Positions" is a
closed position, a round trip: open time, position ticket, symbol, type (buy / sell),
volume, open price, S / L, T / P, close time, close price, commission, swap and profit
(whose cell spans two columns). Real reports put the position's comment in a hidden
cell (``class="hidden"``) after the type; it is not a column. "Open Positions" lists
positions still open when the report was made (time, ticket, symbol, type, volume,
price, S / L, T / P, market price, swap, profit): they are imported as open trades,
and the report that lists them closed completes them (the same key).

A position is keyed ``MT5-<account>-<ticket>``. Times carry no offset: they are the
trade server's clock, read in the time zone the person gives. The P&L is the profit
plus commission and swap (what the account earned); fees are the commission and swap
when they are a cost. S / L is the stop when the position was closed; a stop at or
past the entry (moved to break-even or trailed) is not the initial stop and is left
out, and the report says how many.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, localcontext
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from journal.domain.trade_record import shown
from journal.statements.reading import (
    Row,
    Statement,
    StatementUnreadable,
    decimal_of,
    local_time,
    plain,
    text_of,
)

FORMAT = "mt5_html"
# The columns each section must have (names made unique: the second Time and Price are
# the closing ones); S / L, T / P and others (a comment) may be there too.
SECTIONS = {
    "positions": (
        "time", "position", "symbol", "type", "volume", "price", "close time",
        "close price", "commission", "swap", "profit",
    ),
    "open positions": ("time", "position", "symbol", "type", "volume", "price", "swap", "profit"),
}  # fmt: skip
SIDES = {"buy": "long", "sell": "short"}
# Six-letter symbols of two ISO currencies are FX pairs; metals quoted in a currency.
CURRENCIES = frozenset(
    "USD EUR GBP JPY CHF CAD AUD NZD SEK NOK DKK PLN HUF CZK TRY ZAR MXN SGD HKD CNH".split()
)
METALS = {"XAU": Decimal(100), "XAG": Decimal(5000), "XPT": Decimal(100), "XPD": Decimal(100)}


class _Cells(HTMLParser):
    """The report's table rows: each a list of (text, css class), with its line."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[int, list[tuple[str, str]]]] = []
        self._row: list[tuple[str, str]] | None = None
        self._cell: list[str] | None = None
        self._class = ""
        self._line = 0

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._close_row()
            self._row, self._line = [], self.getpos()[0]
        elif tag in ("td", "th") and self._row is not None:
            self._close_cell()
            self._cell = []
            self._class = dict(attrs).get("class") or ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr":
            self._close_row()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def _close_cell(self):
        if self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            self._row.append((text, self._class))
        self._cell = None

    def _close_row(self):
        self._close_cell()
        if self._row is not None:
            self.rows.append((self._line, self._row))
        self._row = None

    def close(self):
        super().close()
        self._close_row()


def read(data: bytes, *, zone: ZoneInfo, account: str = "", strategy: str = "") -> Statement:
    """The positions of an MT5 trade history report: closed ones, then open ones."""
    statement = Statement(FORMAT)
    text = text_of(data, what="MT5 report")
    cells = _Cells()
    try:
        cells.feed(text)
        cells.close()
    except (AssertionError, ValueError) as exc:  # html.parser's own refusals
        raise StatementUnreadable(f"the report is not readable HTML ({exc})") from None
    statement.account = _account(cells.rows)
    owner = account or statement.account
    section: str | None = None
    columns: list[str] | None = None
    found = set()
    stops_left_out = 0
    for line, row in cells.rows:
        texts = [text for text, css in row if css != "hidden"]
        if len(texts) == 1 and texts[0]:
            title = texts[0].lower()
            section = title if title in SECTIONS else None
            columns = None
            continue
        if section is None or not any(texts):
            continue
        if columns is None:
            columns = _unique([t.lower() for t in texts])
            missing = [name for name in SECTIONS[section] if name not in columns]
            if missing:
                raise StatementUnreadable(
                    f"line {line}: the {section.title()} section has no "
                    f"{', '.join(missing)} column (its columns: {', '.join(columns)[:200]})"
                )
            found.add(section)
            continue
        at = columns.index("type")
        kind = texts[at].lower() if len(texts) > at else ""
        if kind not in SIDES:
            statement.skipped += 1  # balance, credit and bonus rows: not positions
            continue
        source = " | ".join(text for text, _css in row)
        if len(texts) != len(columns):
            statement.add(
                Row(line, None, [("(row)", f"has {len(texts)} cells, not {len(columns)}")], source)
            )
            continue
        values = dict(zip(columns, texts, strict=True))
        row_result, stop_dropped = _position(values, line, source, zone, owner, strategy)
        stops_left_out += stop_dropped
        if row_result.record is not None:
            _note_facts(statement, row_result.record)
        statement.add(row_result)
    if "positions" not in found and "open positions" not in found:
        raise StatementUnreadable(
            "no Positions section: save the report from History with the Positions view "
            "(History > right click > Positions, then Report > HTML)"
        )
    if stops_left_out:
        statement.notes.append(
            f"{stops_left_out} stop(s) at or past the entry (moved after the opening) were "
            "left out: the journal's R needs the initial stop"
        )
    return statement


def _unique(columns: list[str]) -> list[str]:
    """Column names made unique: the second Time and Price are the closing ones."""
    seen: dict[str, int] = {}
    out = []
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"close {name}")
    return out


def _account(rows) -> str:
    for _line, row in rows:
        texts = [text for text, _css in row]
        for i, text in enumerate(texts[:-1]):
            if text.lower().rstrip(":") == "account":
                found = re.match(r"\s*(\d{1,20})", texts[i + 1])
                if found:
                    return found[1]
    return ""


def _position(values, line, source, zone, owner, strategy) -> tuple[Row, int]:
    problems: list[tuple[str, str]] = []

    def number(name: str, label: str, *, optional: bool = False):
        text = values.get(name, "")
        if optional and text.strip() in ("", "0", "0.0", "0.00", "0.00000"):
            return None
        try:
            return decimal_of(text, what=f"the {label}")
        except ValueError as exc:
            problems.append((label, str(exc)))
            return None

    def when(name: str, label: str):
        try:
            return _time(values.get(name, ""), zone)
        except ValueError as exc:
            problems.append((label, str(exc)))
            return None

    ticket = values.get("position", "").strip()
    if not re.fullmatch(r"\d{1,20}", ticket):
        problems.append(("Position", f"is not a ticket number (got {shown(ticket)})"))
    side = SIDES[values["type"].lower()]
    opened = when("time", "Time")
    volume = number("volume", "Volume")
    entry = number("price", "Price")
    stop = number("s / l", "S / L", optional=True)
    closed_section = "close time" in values
    if closed_section:
        closed = when("close time", "close Time")
        exit_price = number("close price", "close Price")
        commission = number("commission", "Commission")
    else:
        closed = exit_price = None
        commission = Decimal(0)
    swap = number("swap", "Swap")
    profit = number("profit", "Profit")
    symbol = values.get("symbol", "").strip().upper()
    if problems:
        return Row(line, None, problems, source), 0
    record = {
        "trade_id": f"MT5-{owner}-{ticket}" if owner else f"MT5-{ticket}",
        "executed_at": opened.isoformat(),
        "symbol": symbol,
        "side": side,
        "quantity": plain(volume),
        "entry_price": plain(entry),
        "account": owner,
        "strategy": strategy,
        "broker_order_id": ticket,
    }
    dropped = 0
    if stop is not None:
        at_risk = stop < entry if side == "long" else stop > entry
        if at_risk:
            record["stop_loss"] = plain(stop)
        else:
            dropped = 1
    if closed_section:
        with localcontext() as context:
            context.prec = 80
            costs = commission + swap  # negative: what the position paid
            record.update(
                closed_at=closed.isoformat(),
                exit_price=plain(exit_price),
                fees=plain(max(-costs, Decimal(0))),
                pnl=plain(profit + costs),
            )
    return Row(line, record, [], source), dropped


def _time(text: str, zone: ZoneInfo) -> datetime:
    found = re.fullmatch(r"(\d{4})\.(\d{2})\.(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))?", text.strip())
    if not found:
        raise ValueError(f"is not a time as MT5 writes it, 2026.06.10 13:45:00 (got {shown(text)})")
    year, month, day, hour, minute = (int(found[i]) for i in range(1, 6))
    second = int(found[6] or 0)
    if not 1990 <= year <= 2100:
        raise ValueError(f"is not a year from 1990 to 2100 (got {shown(text)})")
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise ValueError(f"is not a date and time (got {shown(text)})") from None
    return local_time(moment, zone)


def _note_facts(statement: Statement, record: dict) -> None:
    symbol = record["symbol"]
    facts = statement.facts(symbol)
    base = re.sub(r"[^A-Z]", "", symbol)[:6]
    if len(base) == 6 and base[:3] in CURRENCIES and base[3:] in CURRENCIES:
        facts.asset_class, facts.currency = "fx", base[3:]
        facts.point_value = Decimal(100_000)
    elif len(base) == 6 and base[:3] in METALS and base[3:] in CURRENCIES:
        facts.asset_class, facts.currency = "commodity", base[3:]
        facts.point_value = METALS[base[:3]]
    prices = [Decimal(record[k]) for k in ("entry_price", "exit_price") if record.get(k)]
    facts.saw(prices=prices, quantities=[Decimal(record["quantity"])])
