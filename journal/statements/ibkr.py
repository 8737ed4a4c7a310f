"""Interactive Brokers Flex Query trades (XML and CSV): executions paired into trades.

A Flex Query's Trades section lists executions (IBKR's reporting reference, "Trades"):
each with its account, symbol, contract id, currency, asset class and multiplier, the
execution's id (``tradeID``), order id, time (``dateTime``, or ``tradeDate`` and
``tradeTime``), a quantity (negative for a sale), ``tradePrice``, ``ibCommission``
(negative: a cost), ``buySell`` and ``openCloseIndicator`` (O opens, C closes, C;O
closes a position and opens the other way). The journal keeps round trips, so the
executions of each account and contract are paired first in, first out, in time order:
every opening execution is one trade, keyed ``IBKR-<tradeID>`` (the same trade in a
later statement has the same key, so an open trade imported today is completed by the
statement that closes it). A trade closed by several executions exits at their
quantity-weighted price; its P&L is the fills' own, less the commissions of its opening
and of its share of each closing execution.

Read from the XML (root ``FlexQueryResponse``; the attributes named above) and from
the three CSV layouts the Flex Query writes: a plain header row, the header and trailer
records (BOF/BOS/EOS ... rows, the Trades section coded TRNT) and the section code and
line descriptor (HEADER/DATA rows). Only executions are read: closed lots, orders and
summaries (``levelOfDetail``) are skipped. Times carry no offset unless the query adds
one (``10:00:00 EST``): they are read in the time zone the person gives.

What is not read, and says so: a cancelled execution (``BUY (Ca.)``), a closing
execution of a position the statement does not open (export a period that covers the
opening), dates written with slashes (MM/dd and dd/MM cannot be told apart: use
yyyyMMdd or yyyy-MM-dd in the query's settings).
"""

from __future__ import annotations

import csv
import io
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from xml.parsers import expat
from xml.sax.saxutils import quoteattr
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

XML = "ibkr_xml"
CSV = "ibkr_csv"
TRADES_SECTION = "TRNT"  # the Trades section's code in the CSV layouts with sections

# The Flex Query's names (XML attributes and CSV headers, compared without case and
# punctuation) for what a trade needs.
NAMES = {
    "accountid": "account",
    "clientaccountid": "account",
    "currency": "currency",
    "currencyprimary": "currency",
    "assetcategory": "asset",
    "assetclass": "asset",
    "symbol": "symbol",
    "description": "description",
    "conid": "conid",
    "multiplier": "multiplier",
    "tradeid": "trade_id",
    "transactionid": "transaction_id",
    "ibexecid": "exec_id",
    "iborderid": "order_id",
    "datetime": "date_time",
    "tradedate": "trade_date",
    "tradetime": "trade_time",
    "quantity": "quantity",
    "tradeprice": "price",
    "ibcommission": "commission",
    "ibcommissioncurrency": "commission_currency",
    "buysell": "buy_sell",
    "opencloseindicator": "open_close",
    "levelofdetail": "level",
}
NEEDED = ("symbol", "quantity", "price", "buy_sell")
# IBKR's asset classes and the desk's (journal.models.AssetClass); a future or an option
# may be on an index or a commodity: the person adding it says which.
ASSET_CLASSES = {
    "STK": "equity",
    "CASH": "fx",
    "CRYPTO": "crypto",
    "BOND": "bond",
    "BILL": "bond",
    "CMDTY": "commodity",
}
# Offsets of the zone abbreviations a Flex Query may append to its times.
ABBREVIATIONS = {
    "UTC": 0,
    "GMT": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
    "HKT": 8,
    "JST": 9,
    "AEST": 10,
    "AEDT": 11,
}
MONTHS = {
    m: n for n, m in enumerate(("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC").split(), 1)
}
PLACES = Decimal("0.00000001")  # the record format's eight decimal places


def canonical(name: str) -> str | None:
    """The reader's name of a Flex Query field (``Buy/Sell`` -> ``buy_sell``), or None."""
    return NAMES.get(re.sub(r"[^a-z0-9]", "", name.lower()))


# -- executions ------------------------------------------------------------------------


@dataclass
class Execution:
    line: int
    source: str
    account: str
    symbol: str
    contract: str
    currency: str
    buy: bool
    quantity: Decimal
    price: Decimal
    commission: Decimal  # a cost: positive (IBKR writes costs negative)
    multiplier: Decimal
    at: datetime
    exec_id: str
    order_id: str
    open_close: str
    unshared: Decimal = field(init=False)  # the quantity no trade has a share of yet
    fee_left: Decimal = field(init=False)  # the commission not shared out yet

    def __post_init__(self):
        self.unshared = self.quantity
        self.fee_left = self.commission

    @property
    def side(self) -> str:
        return "long" if self.buy else "short"

    def fee_for(self, taken: Decimal) -> Decimal:
        """The commission's share of ``taken`` of the quantity, at the record format's
        places; the last share takes what is left, so the shares add up to it."""
        self.unshared -= taken
        if self.unshared == 0:
            share = self.fee_left
        else:
            share = (self.commission * taken / self.quantity).quantize(PLACES)
        self.fee_left -= share
        return share


@dataclass
class Lot:
    """What one opening execution opened, and the closing fills matched to it."""

    opening: Execution
    quantity: Decimal
    remaining: Decimal
    open_fee: Decimal
    closes: list[tuple[Execution, Decimal, Decimal]] = field(default_factory=list)


def execution(values: dict[str, str], line: int, source: str, zone: ZoneInfo) -> Execution:
    """One execution from its fields (the reader's names); ValueError naming the field."""
    problems: list[tuple[str, str]] = []

    def take(name: str, read, label: str):
        try:
            return read(values.get(name, "") or "")
        except ValueError as exc:
            problems.append((label, str(exc)))
            return None

    written = (values.get("buy_sell") or "").strip()
    buy_sell = written.upper()
    if "(CA.)" in buy_sell:
        raise RowProblems([("buySell", f"{written}: a cancelled execution, not a trade")])
    if buy_sell not in ("BUY", "SELL"):
        problems.append(("buySell", f"must be BUY or SELL (got {shown(buy_sell)})"))
    quantity = take("quantity", lambda t: abs(decimal_of(t, what="the quantity")), "quantity")
    if quantity == 0:
        problems.append(("quantity", "is zero"))
    price = take("price", lambda t: decimal_of(t, what="the trade price"), "tradePrice")
    commission = take(
        "commission",
        lambda t: -decimal_of(t, what="the commission") if t.strip() else Decimal(0),
        "ibCommission",
    )
    multiplier = take(
        "multiplier",
        lambda t: decimal_of(t, what="the multiplier") if t.strip() else Decimal(1),
        "multiplier",
    )
    if multiplier is not None and multiplier <= 0:
        problems.append(("multiplier", f"must be greater than 0 (got {plain(multiplier)})"))
    at = take("date_time", lambda _t: flex_time(values, zone), "dateTime")
    exec_id = next(
        (values[k].strip() for k in ("trade_id", "transaction_id", "exec_id") if values.get(k)),
        "",
    )
    if not exec_id:
        problems.append(("tradeID", "the execution has no id (tradeID, transactionID or ibExecID)"))
    symbol = (values.get("symbol") or "").strip().upper()
    if not symbol:
        problems.append(("symbol", "is empty"))
    open_close = re.sub(r"\s", "", values.get("open_close") or "").upper()
    if open_close not in ("", "O", "C", "C;O", "O;C"):
        problems.append(("openCloseIndicator", f"must be O, C or C;O (got {shown(open_close)})"))
    if problems:
        raise RowProblems(problems)
    return Execution(
        line=line,
        source=source,
        account=(values.get("account") or "").strip(),
        symbol=symbol,
        contract=(values.get("conid") or "").strip() or symbol,
        currency=(values.get("currency") or "").strip().upper(),
        buy=buy_sell == "BUY",
        quantity=quantity,
        price=price,
        commission=commission,
        multiplier=multiplier,
        at=at,
        exec_id=exec_id,
        order_id=(values.get("order_id") or "").strip(),
        open_close=open_close,
    )


class RowProblems(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {r}" for f, r in problems))


def flex_time(values: dict[str, str], zone: ZoneInfo) -> datetime:
    """The execution's time in UTC, from ``dateTime`` or ``tradeDate`` + ``tradeTime``."""
    text = (values.get("date_time") or "").strip()
    if not text:
        day, clock = (values.get("trade_date") or "").strip(), (values.get("trade_time") or "")
        if not day:
            raise ValueError("the execution has no time: add DateTime to the query's fields")
        text = f"{day};{clock.strip()}" if clock.strip() else day
    offset = None
    words = text.rsplit(" ", 1)
    if len(words) == 2 and words[1].isalpha():
        name = words[1].upper()
        if name not in ABBREVIATIONS:
            raise ValueError(f"{shown(words[1])} is not a time zone this reader knows")
        offset, text = timezone(timedelta(hours=ABBREVIATIONS[name])), words[0]
    day_text, clock_text = _split_date_time(text)
    if "/" in day_text:
        raise ValueError(
            f"{shown(day_text)}: a date with slashes may be MM/dd or dd/MM; set the Flex "
            "Query's date format to yyyyMMdd or yyyy-MM-dd"
        )
    day = _date(day_text)
    if not clock_text:
        raise ValueError(f"{shown(text)} has a date but no time: add the time to the query")
    hour, minute, second = _clock(clock_text)
    if not 1990 <= day[0] <= 2100:
        raise ValueError(f"{shown(day_text)} is not a year from 1990 to 2100")
    try:
        moment = datetime(*day, hour, minute, second)
    except ValueError:
        raise ValueError(f"{shown(text)} is not a date and time") from None
    if offset is not None:
        return moment.replace(tzinfo=offset).astimezone(UTC)
    return local_time(moment, zone)


def _split_date_time(text: str) -> tuple[str, str]:
    for separator in (";", ",", " ", "T"):
        if separator in text:
            day, _, clock = text.partition(separator)
            return day.strip(), clock.strip()
    if text.isdigit() and len(text) == 14:  # yyyyMMddHHmmss: no separator
        return text[:8], text[8:]
    return text, ""


def _date(text: str) -> tuple[int, int, int]:
    if re.fullmatch(r"\d{8}", text):
        return int(text[:4]), int(text[4:6]), int(text[6:])
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return int(text[:4]), int(text[5:7]), int(text[8:])
    found = re.fullmatch(r"(\d{2})-([A-Za-z]{3})-(\d{2})", text)
    if found and found[2].upper() in MONTHS:
        return 2000 + int(found[3]), MONTHS[found[2].upper()], int(found[1])
    raise ValueError(f"{shown(text)} is not a date (yyyyMMdd, yyyy-MM-dd or dd-MMM-yy)")


def _clock(text: str) -> tuple[int, int, int]:
    if re.fullmatch(r"\d{6}", text):
        parts = (text[:2], text[2:4], text[4:])
    elif re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", text):
        parts = (*text.split(":"), "00")[:3]
    else:
        raise ValueError(f"{shown(text)} is not a time (HHmmss or HH:mm:ss)")
    hour, minute, second = (int(p) for p in parts)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{shown(text)} is not a time of day")
    return hour, minute, second


# -- pairing ---------------------------------------------------------------------------


def pair(executions: list[Execution], statement: Statement, *, account: str, strategy: str):
    """The executions' round trips as rows of ``statement``, first in, first out per
    account and contract, in time order (the file's order within a second)."""
    books: dict[tuple[str, str], deque[Lot]] = {}
    lots: list[Lot] = []
    partly_closed = 0
    for e in sorted(executions, key=lambda e: (e.at, e.line)):
        book = books.setdefault((e.account, e.contract), deque())
        remaining = e.quantity
        closes = "C" in e.open_close or not e.open_close
        opens = "O" in e.open_close or not e.open_close
        if book and book[0].opening.side != e.side:
            if not closes:
                statement.add(
                    Row(
                        e.line,
                        None,
                        [
                            (
                                "openCloseIndicator",
                                f"opens a {e.side} position in {e.symbol} while the statement "
                                f"holds a {book[0].opening.side} one that it did not close",
                            )
                        ],
                        e.source,
                    )
                )
                continue
            while remaining > 0 and book:
                lot = book[0]
                taken = min(remaining, lot.remaining)
                lot.closes.append((e, taken, e.fee_for(taken)))
                lot.remaining -= taken
                remaining -= taken
                if lot.remaining == 0:
                    book.popleft()
        if remaining <= 0:
            continue
        if not opens:
            statement.add(
                Row(
                    e.line,
                    None,
                    [
                        (
                            "openCloseIndicator",
                            f"closes {plain(remaining)} {e.symbol} that this statement does not "
                            "open (opened before its period): export a period that covers "
                            "the opening",
                        )
                    ],
                    e.source,
                )
            )
            continue
        lot = Lot(e, remaining, remaining, e.fee_for(remaining))
        book.append(lot)
        lots.append(lot)
    for lot in sorted(lots, key=lambda lot: lot.opening.line):
        if 0 < lot.remaining < lot.quantity:
            partly_closed += 1
        statement.add(_row(lot, account=account, strategy=strategy))
    if partly_closed:
        statement.notes.append(
            f"{partly_closed} position(s) partly closed at the end of the statement are "
            "imported as open; the statement that closes them completes them"
        )


def _row(lot: Lot, *, account: str, strategy: str) -> Row:
    opening = lot.opening
    with localcontext() as context:
        context.prec = 80
        record = {
            "trade_id": f"IBKR-{opening.exec_id}",
            "executed_at": opening.at.isoformat(),
            "symbol": opening.symbol,
            "side": opening.side,
            "quantity": plain(lot.quantity),
            "entry_price": plain(opening.price),
            "account": account or opening.account,
            "strategy": strategy,
            "broker_order_id": opening.order_id[:64],
        }
        fees = lot.open_fee
        sources = [opening.source]
        if lot.remaining == 0:
            fees += sum((fee for _e, _q, fee in lot.closes), Decimal(0))
            sign = 1 if opening.buy else -1
            gross = sum(
                (
                    (e.price - opening.price) * q * opening.multiplier * sign
                    for e, q, _f in lot.closes
                ),
                Decimal(0),
            )
            exit_price = sum((e.price * q for e, q, _f in lot.closes), Decimal(0)) / lot.quantity
            record.update(
                exit_price=plain(exit_price.quantize(PLACES)),
                closed_at=max(e.at for e, _q, _f in lot.closes).isoformat(),
                pnl=plain(gross - fees),
            )
            sources += [e.source for e, _q, _f in lot.closes]
        # A rebate (a commission IBKR pays) is no fee: it is in the P&L above.
        record["fees"] = plain(max(fees, Decimal(0)))
    return Row(opening.line, record, [], "\n".join(dict.fromkeys(sources)))


def _note_facts(statement: Statement, e: Execution, asset: str, description: str) -> None:
    facts = statement.facts(e.symbol)
    facts.currency = facts.currency or e.currency
    facts.asset_class = facts.asset_class or ASSET_CLASSES.get(asset.upper(), "")
    facts.point_value = facts.point_value or e.multiplier
    facts.description = facts.description or description
    facts.saw(prices=[e.price], quantities=[e.quantity])


# -- the XML ---------------------------------------------------------------------------


def read_xml(data: bytes, *, zone: ZoneInfo, account: str = "", strategy: str = "") -> Statement:
    """A Flex Query's XML (root FlexQueryResponse): its executions, paired into trades."""
    statement = Statement(XML)
    executions: list[Execution] = []
    state = {"root": None, "account": "", "error_answer": False}
    parser = expat.ParserCreate()

    def refuse_declarations(*_args):
        raise StatementUnreadable(
            f"line {parser.CurrentLineNumber}: the file declares a DTD or entities, which "
            "a Flex Query never does; nothing was imported"
        )

    def start(name: str, attrs: dict[str, str]) -> None:
        if state["root"] is None:
            state["root"] = name
            if name == "FlexStatementResponse":
                state["error_answer"] = True
            elif name != "FlexQueryResponse":
                raise StatementUnreadable(
                    f"line {parser.CurrentLineNumber}: not a Flex Query (its first element "
                    f"is <{name[:40]}>, a Flex Query's is <FlexQueryResponse>)"
                )
        if name == "FlexStatement":
            state["account"] = attrs.get("accountId", "")
            statement.account = statement.account or state["account"]
        elif name == "Trade":
            _read_execution(attrs, parser.CurrentLineNumber, statement, executions, zone, state)
        elif name in ("Lot", "Order", "SymbolSummary", "AssetSummary"):
            statement.skipped += 1

    parser.StartDoctypeDeclHandler = refuse_declarations
    parser.EntityDeclHandler = refuse_declarations
    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise StatementUnreadable(
            f"line {exc.lineno}: not well-formed XML ({expat.ErrorString(exc.code)}); "
            "nothing was imported"
        ) from None
    if state["error_answer"]:
        raise StatementUnreadable(
            "the file is IBKR's answer that the statement could not be made, not a "
            "statement: download the query's output again"
        )
    pair(executions, statement, account=account, strategy=strategy)
    return statement


def _read_execution(attrs, line, statement, executions, zone, state) -> None:
    source = "<Trade " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) + " />"
    values = {}
    for name, value in attrs.items():
        key = canonical(name)
        if key:
            values[key] = value
    values.setdefault("account", state["account"])
    _take(values, line, source, statement, executions, zone)


def _take(values, line, source, statement, executions, zone) -> None:
    level = (values.get("level") or "").strip().upper()
    if level and level != "EXECUTION":
        statement.skipped += 1  # closed lots, orders, summaries: not executions
        return
    try:
        e = execution(values, line, source, zone)
    except RowProblems as exc:
        statement.add(Row(line, None, exc.problems, source))
        return
    commission_currency = (values.get("commission_currency") or "").strip().upper()
    if commission_currency and e.currency and commission_currency != e.currency:
        note = (
            f"commissions in {commission_currency} on trades in {e.currency} were taken as "
            "they are (the journal keeps fees in the trade's currency)"
        )
        if note not in statement.notes:
            statement.notes.append(note)
    _note_facts(statement, e, values.get("asset") or "", (values.get("description") or "").strip())
    executions.append(e)


# -- the CSV ---------------------------------------------------------------------------

MARKERS = frozenset({"BOF", "BOA", "BOS", "EOS", "EOA", "EOF"})


def read_csv(data: bytes, *, zone: ZoneInfo, account: str = "", strategy: str = "") -> Statement:
    """A Flex Query's CSV in any of its three layouts: its executions, paired."""
    statement = Statement(CSV)
    executions: list[Execution] = []
    text = text_of(data, what="Flex Query CSV")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str | None] | None = None
    section: str | None = None  # the current section's code, when the file has sections
    sectioned = False
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            first = cells[0].strip().upper()
            if first in MARKERS:
                sectioned = True
                if first == "BOS":
                    section = cells[1].strip().upper() if len(cells) > 1 else ""
                    header = None
                elif first == "BOA" and len(cells) > 1:
                    statement.account = statement.account or cells[1].strip()
                continue
            if first in ("HEADER", "DATA") and len(cells) > 2:
                sectioned = True
                section, cells = cells[1].strip().upper(), cells[2:]
                if first == "HEADER":
                    header = _header(cells, line) if section == TRADES_SECTION else None
                    continue
                if section != TRADES_SECTION or header is None:
                    continue
            elif sectioned:
                if section != TRADES_SECTION:
                    continue
                if header is None:
                    header = _header(cells, line)
                    continue
            elif header is None or _is_header(cells, header):
                header = _header(cells, line)  # a plain file repeats it for each account
                continue
            values = {name: value for name, value in zip(header, cells, strict=False) if name}
            source = _csv_text(cells)
            if len(cells) != len(header):
                statement.add(
                    Row(
                        line,
                        None,
                        [("(row)", f"has {len(cells)} fields, the header {len(header)}")],
                        source,
                    )
                )
                continue
            _take(values, line, source, statement, executions, zone)
    except csv.Error as exc:
        raise StatementUnreadable(
            f"line {reader.line_num}: unreadable CSV ({exc}); nothing was imported"
        ) from None
    if header is None and not executions and not statement.rows:
        raise StatementUnreadable(
            "no Trades section: the file holds no header with Symbol, Quantity, TradePrice "
            "and Buy/Sell (add the Trades section and those fields to the Flex Query)"
        )
    statement.account = statement.account or next((e.account for e in executions), "")
    pair(executions, statement, account=account, strategy=strategy)
    return statement


def _header(cells: list[str], line: int) -> list[str | None]:
    header = [canonical(cell) for cell in cells]
    missing = [name for name in NEEDED if name not in header]
    has_time = "date_time" in header or "trade_date" in header
    if missing or not has_time:
        wanted = ", ".join(
            [*(_LABELS[name] for name in missing), *([] if has_time else ["DateTime"])]
        )
        raise StatementUnreadable(
            f"line {line}: the Trades section has no {wanted} column: add it to the "
            "Flex Query's Trades fields"
        )
    return header


def _is_header(cells: list[str], header: list[str | None]) -> bool:
    return [canonical(cell) for cell in cells] == header


_LABELS = {
    "symbol": "Symbol",
    "quantity": "Quantity",
    "price": "TradePrice",
    "buy_sell": "Buy/Sell",
}


def _csv_text(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()
