"""The trade record format (README.md, "Trade journal"): parsing and validation, no Django.

The API body, the CSV header and the JSON-lines keys use the same names. Every value
may come as text (CSV) or as JSON (API, JSON lines); ``parse_record`` turns either into
a ``TradeRecord`` of Python values or raises ``RecordError`` naming every bad field.
Decimals never pass through float: JSON is parsed with ``parse_float=Decimal``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, make_dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

SIDES = ("long", "short")


@dataclass(frozen=True)
class Field:
    """One field of the format: everything derives from SPEC below (the parsers here,
    journal.write.storage's columns, the API's serializer, the admin's fields and the
    CSV fast path's SQL): a field added there appears everywhere."""

    name: str
    # text, time, symbol, side, decimal, json, model_version or confidence
    kind: str
    required: bool = False
    max_length: int | None = None
    sign: str = ""  # a decimal's: "positive", "non_negative" or "" (any)
    default: Any = None  # when absent: None, "" (text) or {} (JSON); fees 0
    help: str = ""


SPEC = (
    Field("trade_id", "text", True, 64, help="the broker's or the bot's id of the trade"),
    Field(
        "executed_at",
        "time",
        True,
        help="ISO 8601 with an offset: when it was opened (not later than now plus the "
        "server's clock-skew allowance, 5 minutes by default)",
    ),
    Field(
        "closed_at",
        "time",
        help="ISO 8601 with an offset; empty while it is open (not later than now plus "
        "the clock-skew allowance)",
    ),
    Field("symbol", "symbol", True, 32),
    Field("side", "side", True),
    Field("quantity", "decimal", True, sign="positive"),
    Field("entry_price", "decimal", True, sign="positive"),
    Field("exit_price", "decimal", sign="positive", help="with closed_at"),
    Field("fees", "decimal", sign="non_negative", default=Decimal("0")),
    Field("pnl", "decimal", help="realised P&L, with closed_at"),
    Field("strategy", "text", max_length=64, default=""),
    Field("account", "text", max_length=64, default=""),
    Field("broker_order_id", "text", max_length=64, default=""),
    Field("agent_votes", "json", default={}, help="a JSON object"),
    Field("signals", "json", default={}, help="a JSON object"),
    Field("model_version", "model_version", max_length=132, default="", help="name@version"),
    Field("confidence", "confidence", help="0 to 1"),
    Field(
        "stop_loss",
        "decimal",
        sign="positive",
        help="the initial stop (below the entry of a long, above a short's): R-multiples",
    ),
    Field("idea_id", "id", help="the trade idea that caused the trade (an idea that exists)"),
)
FIELDS = tuple(f.name for f in SPEC)
REQUIRED = tuple(f.name for f in SPEC if f.required)
JSON_FIELDS = tuple(f.name for f in SPEC if f.kind == "json")
# Free text, which a spreadsheet could take for a formula (journal.write.exports).
TEXT_FIELDS = frozenset(f.name for f in SPEC if f.kind in ("text", "model_version"))

# Columns the exports add after the record's (journal.write.exports): the trade's own
# figures (computed from the trade, and MAE / MFE from the stored market bars where they
# cover it) and its review (which no import writes). An import reads past them, on both
# of its paths, so an exported file re-imports as the trades it lists, exactly.
FIGURE_COLUMNS = ("r_multiple", "holding_seconds", "mae", "mfe", "mae_r", "mfe_r")
REVIEW_COLUMNS = (
    "review_status",
    "review_grade",
    "review_tags",
    "review_mistakes",
    "review_notes",
    "reviewed_by",
    "reviewed_at",
)
DERIVED_COLUMNS = (*FIGURE_COLUMNS, *REVIEW_COLUMNS)

MAX_INTEGER_DIGITS = 12
MAX_DECIMAL_PLACES = 8
# agent_votes and signals: each at most this many bytes as compact JSON, this deep, with
# numbers below this magnitude. A trade of the largest size is about 34 KB, so the
# largest batch (1,000 trades) fits the API's body limit (settings.JOURNAL_MAX_BODY_MB).
MAX_JSON_BYTES = 16 * 1024
MAX_JSON_DEPTH = 16
MAX_JSON_NUMBER_DIGITS = 15  # digits before the point; a float holds 15 exactly
# Times a trade may carry. PostgreSQL holds far more, but a trade from 1989 or 2101 is
# a bug upstream, and Python's datetime overflows near year 9999 with an offset.
EARLIEST_YEAR = 1990
LATEST_YEAR = 2100
# Clocks drift; a trade far in the future is a bug upstream, not a trade. Capture passes
# its own limit (journal.write.capture.latest_trade_time: django.utils.timezone.now()
# plus settings.CLOCK_SKEW_SECONDS); this is the default of callers that do not.
MAX_FUTURE = timedelta(minutes=5)

SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._/:=^-]{0,31}$")
_MODEL_VERSION = re.compile(r"^[A-Za-z0-9_.-]{1,100}@[A-Za-z0-9_.-]{1,30}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RecordError(ValueError):
    """A trade record is invalid; ``errors`` maps each bad field to its reason, ``values``
    holds the fields that were valid (so that checks against the database, such as an
    unknown symbol or idea, can name their fields in the same report)."""

    def __init__(self, errors: dict[str, str], values: dict[str, Any] | None = None):
        self.errors = errors
        self.values = values or {}
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))


_PYTHON_TYPES = {
    "id": int,
    "time": datetime,
    "decimal": Decimal,
    "confidence": Decimal,
    "json": dict,
}


def _record_field(spec: Field):
    kind = _PYTHON_TYPES.get(spec.kind, str)
    if spec.required:
        return spec.name, kind
    if isinstance(spec.default, dict):
        return spec.name, kind, field(default_factory=dict)
    return spec.name, kind | None if spec.default is None else kind, field(default=spec.default)


class TradeRecord(
    make_dataclass("_TradeValues", [_record_field(f) for f in SPEC], frozen=True, kw_only=True)
):
    """One valid trade in Python values (decimals, UTC times), the fields of SPEC."""

    __slots__ = ()

    @property
    def key(self) -> tuple[str, datetime]:
        """The journal's unique key: (trade_id, executed_at)."""
        return self.trade_id, self.executed_at

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def as_json(self) -> dict[str, Any]:
        """The record in the format's JSON form (decimals as strings, times ISO 8601)."""
        out: dict[str, Any] = {}
        for name in FIELDS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            out[name] = value
        return out


def shown(value: Any, limit: int = 40) -> str:
    """``value`` quoted for an error message: cut to ``limit`` characters, with lone
    surrogates and control characters escaped, so that the message itself can be
    encoded, logged and rendered whatever the input held."""
    text = str(value)[:limit]
    return repr(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def check_storable_text(text: str) -> None:
    """ValueError unless PostgreSQL can store ``text``: no NUL, no lone surrogate."""
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must not contain a lone surrogate (not valid Unicode)") from None


def _text(value: Any, *, max_length: int, allow_blank: bool = True) -> str:
    if value.__class__ is str and value.isascii() and value.isprintable():
        # The usual case, checked at C speed: ASCII (no surrogate) and printable (no
        # control character, NUL included).
        text = value.strip()
        if len(text) > max_length:
            raise ValueError(f"must be at most {max_length} characters (got {len(text)})")
        if not text and not allow_blank:
            raise ValueError("must not be empty")
        return text
    if value.__class__ is bool or not isinstance(value, str | int):
        raise ValueError("must be text")
    text = str(value).strip()
    if not text and not allow_blank:
        raise ValueError("must not be empty")
    if len(text) > max_length:
        raise ValueError(f"must be at most {max_length} characters (got {len(text)})")
    if _CONTROL.search(text):
        raise ValueError("must not contain control characters")
    check_storable_text(text)
    return text


# A decimal in the plain spelling within the limits: no further check is needed.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,8})?")


def _decimal(value: Any, *, positive: bool = False, non_negative: bool = False) -> Decimal:
    if value.__class__ is str and _PLAIN_DECIMAL.fullmatch(value):
        number = Decimal(value)
        if positive and number <= 0:
            raise ValueError("must be greater than 0")
        if non_negative and number < 0:
            raise ValueError("must not be negative")
        return number
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
        raise ValueError("must be a decimal number")
    if isinstance(value, float):
        # Only reached by callers that parsed JSON without parse_float=Decimal;
        # repr gives the shortest text that round-trips, never binary noise.
        value = repr(value)
    text = str(value).strip()
    if len(text) > 100:  # Decimal would read a million digits; no amount has 100
        raise ValueError(f"must be a decimal number of at most 100 characters (got {len(text)})")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"must be a decimal number (got {shown(text)})") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    exponent = number.as_tuple().exponent
    places = -exponent if exponent < 0 else 0
    if places > MAX_DECIMAL_PLACES:
        raise ValueError(f"must have at most {MAX_DECIMAL_PLACES} decimal places")
    if number and number.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"must have at most {MAX_INTEGER_DIGITS} digits before the point")
    if positive and number <= 0:
        raise ValueError("must be greater than 0")
    if non_negative and number < 0:
        raise ValueError("must not be negative")
    return number


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"must be an ISO 8601 time with offset (got {shown(text)})") from None
    else:
        raise ValueError("must be an ISO 8601 time with offset")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("needs a UTC offset, as in 2026-01-02T15:04:05+00:00")
    # The year as written (as the CSV fast path reads it), checked before the conversion
    # to UTC, which overflows near the ends of the calendar.
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"must be in the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return moment.astimezone(UTC)


def _reject_constant(name: str):
    raise ValueError(f"must not contain {name}")


# One decoder for every record: json.loads with options builds a new one each call.
_TEXT_JSON = json.JSONDecoder(parse_constant=_reject_constant)


def _json_object(value: Any) -> dict:
    if isinstance(value, str):
        # Text (CSV): parsed once, numbers as float; its size read off the text itself.
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_JSON_BYTES:
            raise ValueError(f"must be at most {MAX_JSON_BYTES} bytes as JSON (got {size})")
        try:
            value = _TEXT_JSON.decode(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be a JSON object ({exc.msg} at position {exc.pos})") from None
        except RecursionError:
            raise ValueError(f"must be nested at most {MAX_JSON_DEPTH} levels deep") from None
        except ValueError as exc:  # an integer of thousands of digits, NaN, Infinity
            raise ValueError(f"must be a JSON object ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    cleaned, bound = _storable_json(value, MAX_JSON_DEPTH)
    if bound > MAX_JSON_BYTES:  # only then is the exact size worth its serialisation
        size = len(json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode())
        if size > MAX_JSON_BYTES:
            raise ValueError(f"must be at most {MAX_JSON_BYTES} bytes as JSON (got {size})")
    return cleaned


_JSON_NUMBER_LIMIT = 10**MAX_JSON_NUMBER_DIGITS


_FLAT = frozenset({str, int, float, bool, type(None)})


def _storable_json(value: Any, max_depth: int) -> tuple[Any, int]:
    """A copy of ``value`` that PostgreSQL's jsonb takes and Python's json reads back,
    and an upper bound of its size as compact UTF-8 JSON (a character of text is at
    most 6 bytes escaped, a number at most 24); or ValueError naming what is wrong.

    Numbers become int or float (a Decimal read by parse_float=Decimal included): finite
    and below 10**15 in magnitude. Text, keys included, holds no NUL and no lone
    surrogate. Nesting is at most ``max_depth`` deep. Walked without recursion, so that
    no input can exhaust the stack.
    """
    if value.__class__ is dict and _FLAT.issuperset(map(type, value.values())):
        flat = _flat_json(value)  # the usual signals: one level of plain values
        if flat is not None:
            return flat
    root: list[Any] = [None]
    bound = 0
    # (container to fill, key or index in it, value to check, depth)
    stack: list[tuple[Any, Any, Any, int]] = [(root, 0, value, 1)]
    while stack:
        target, slot, item, depth = stack.pop()
        kind = item.__class__
        if kind is str:
            _json_text(item)
            bound += 6 * len(item) + 3
        elif kind is int:
            if not -_JSON_NUMBER_LIMIT < item < _JSON_NUMBER_LIMIT:
                raise ValueError(
                    f"must hold numbers of at most {MAX_JSON_NUMBER_DIGITS} digits before the point"
                )
            bound += 24
        elif kind is float or kind is Decimal:
            item = _json_number(item)
            bound += 24
        elif kind is dict or kind is list:
            if depth > max_depth:
                raise ValueError(f"must be nested at most {max_depth} levels deep")
            bound += 2
            if kind is dict:
                copy: Any = {}
                for key, child in item.items():
                    key = key if key.__class__ is str else str(key)
                    _json_text(key)
                    bound += 6 * len(key) + 4
                    copy[key] = None
                    stack.append((copy, key, child, depth + 1))
            else:
                copy = [None] * len(item)
                stack.extend((copy, index, child, depth + 1) for index, child in enumerate(item))
                bound += len(item)
            item = copy
        elif item is None or kind is bool:
            bound += 5
        else:
            raise ValueError(f"must hold only JSON values (not {kind.__name__})")
        target[slot] = item
    return root[0], bound


def _flat_json(value: dict) -> tuple[dict, int] | None:
    """A one-level object of text, whole numbers, floats, booleans and nulls, checked in
    one pass; None hands anything less plain to the general walk."""
    bound = 2
    for key, item in value.items():
        if key.__class__ is not str:
            return None
        _json_text(key)
        kind = item.__class__
        if kind is str:
            _json_text(item)
            bound += 6 * (len(key) + len(item)) + 8
        elif kind is float:
            _json_number(item)
            bound += 6 * len(key) + 28
        elif kind is int and not -_JSON_NUMBER_LIMIT < item < _JSON_NUMBER_LIMIT:
            return None  # the general walk names it
        else:
            bound += 6 * len(key) + 28
    return dict(value), bound


def _json_text(text: str) -> None:
    if "\x00" in text:
        raise ValueError("must not contain a NUL character (\\u0000)")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must not contain a lone surrogate (not valid Unicode)") from None


def _json_number(number: float | Decimal) -> int | float:
    if number.__class__ is float:
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("must not contain NaN or Infinity")
        if abs(number) >= _JSON_NUMBER_LIMIT:
            raise ValueError(
                f"must hold numbers of at most {MAX_JSON_NUMBER_DIGITS} digits before the point"
            )
        return number
    if not number.is_finite():
        raise ValueError("must not contain NaN or Infinity")
    if number and number.adjusted() >= MAX_JSON_NUMBER_DIGITS:
        raise ValueError(
            f"must hold numbers of at most {MAX_JSON_NUMBER_DIGITS} digits before the point"
        )
    # A float's repr is the shortest text that reads back as the same number, so a
    # decimal written with up to 15 significant digits comes back as written.
    return int(number) if number == number.to_integral_value() else float(number)


def _symbol(value: Any) -> str:
    symbol = _text(value, max_length=32, allow_blank=False).upper()
    if not SYMBOL.match(symbol):
        raise ValueError("must be letters, digits and . _ / : = ^ - (up to 32)")
    return symbol


def _side(value: Any) -> str:
    side = _text(value, max_length=10, allow_blank=False).lower()
    if side not in SIDES:
        raise ValueError(f"must be long or short (got {side!r})")
    return side


def _model_version(value: Any) -> str:
    text = _text(value, max_length=132)
    if text and not _MODEL_VERSION.match(text):
        raise ValueError("must be name@version, as in direction-xgb@3")
    return text


MAX_ID = 2**63 - 1


def _id(value: Any) -> int:
    if value.__class__ is bool or not isinstance(value, str | int):
        raise ValueError("must be a whole number")
    text = str(value).strip()
    if not text.isdigit() or not text.isascii() or len(text) > 19 or not 0 < int(text) <= MAX_ID:
        raise ValueError(f"must be a positive whole number (got {shown(text)})")
    return int(text)


def _confidence(value: Any) -> Decimal:
    number = _decimal(value)
    if not Decimal(0) <= number <= Decimal(1):
        raise ValueError("must be between 0 and 1")
    return number


def _parser(spec: Field):
    kind = spec.kind
    if kind == "text":
        return lambda v: _text(v, max_length=spec.max_length, allow_blank=not spec.required)
    if kind == "decimal":
        positive, non_negative = spec.sign == "positive", spec.sign == "non_negative"
        return lambda v: _decimal(v, positive=positive, non_negative=non_negative)
    return {
        "id": _id,
        "time": _timestamp,
        "symbol": _symbol,
        "side": _side,
        "json": _json_object,
        "model_version": _model_version,
        "confidence": _confidence,
    }[kind]


_PARSERS = {spec.name: _parser(spec) for spec in SPEC}


def parse_record(data: Any, *, latest: datetime | None = None) -> TradeRecord:
    """Validate one trade record (a mapping of field name to value).

    ``latest``: the latest time a trade may carry (capture passes now plus the clock-skew
    allowance; default: this machine's clock plus MAX_FUTURE). Every bad field is named
    at once, the rules between fields included (a bad ``side`` and an ``executed_at`` in
    the future are two errors), each checked where the fields it reads are valid.
    """
    if not isinstance(data, dict):
        raise RecordError({"non_field_errors": "a trade must be a JSON object"})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if not _PARSERS.keys() >= data.keys():
        for name in data.keys() - _PARSERS.keys():
            errors[str(name)[:64].encode("utf-8", "backslashreplace").decode()] = "unknown field"
    # One pass over the record's own fields: this is the import's hot path.
    for name, raw in data.items():
        parse = _PARSERS.get(name)
        if parse is None or raw is None or (raw.__class__ is str and not raw.strip()):
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            errors[name] = str(exc)
    for name in REQUIRED:
        if name not in values and name not in errors:
            errors[name] = "is required"
    _check_consistency(values, errors, latest or datetime.now(UTC) + MAX_FUTURE)
    if errors:
        raise RecordError(errors, {k: v for k, v in values.items() if k not in errors})
    return TradeRecord(**values)


def _check_consistency(values: dict[str, Any], errors: dict[str, str], latest: datetime) -> None:
    """The rules between fields, each where the fields it reads parsed (a field that
    failed to parse keeps its own error)."""

    def refuse(name: str, reason: str) -> None:
        errors.setdefault(name, reason)

    executed_at = values.get("executed_at")
    if executed_at is not None and executed_at > latest:
        refuse("executed_at", "is in the future")
    stop, side, entry = values.get("stop_loss"), values.get("side"), values.get("entry_price")
    if stop is not None and side is not None and entry is not None:
        long = side == "long"
        if (long and stop >= entry) or (not long and stop <= entry):
            where = "below" if long else "above"
            refuse("stop_loss", f"a {side} trade's stop must be {where} the entry price")
    if "closed_at" in errors:
        return  # open or closed cannot be told: the closing fields are not judged
    closed_at = values.get("closed_at")
    if closed_at is None:
        for name in ("exit_price", "pnl"):
            if name in values:
                refuse(name, "only a closed trade has one (closed_at is empty)")
        return
    if executed_at is not None and closed_at < executed_at:
        refuse("closed_at", "is before executed_at")
    elif closed_at > latest:
        refuse("closed_at", "is in the future")
    for name in ("exit_price", "pnl"):
        if name not in values:
            refuse(name, "is required when closed_at is given")


def header_problem(header: list[str]) -> str | None:
    """What is wrong with a CSV header of the format, or None."""
    seen: set[str] = set()
    for name in header:
        if name in seen:
            return f"column {name!r} appears twice"
        seen.add(name)
    unknown = [name for name in header if name not in _PARSERS and name not in DERIVED_COLUMNS]
    if unknown:
        return (
            f"unknown column(s) {', '.join(map(repr, unknown))}; the columns are "
            f"{', '.join(FIELDS)}"
        )
    missing = [name for name in REQUIRED if name not in seen]
    if missing:
        return f"missing required column(s) {', '.join(missing)}"
    return None


# -- the CSV spelling of text cells ---------------------------------------------------

# OWASP's advice for CSV files opened in a spreadsheet: a text cell starting with one of
# these is read as a formula (=HYPERLINK(...), +cmd|' /C calc'!A0), so it is written with
# a leading apostrophe, which spreadsheets show as text. A cell starting with an
# apostrophe gets one more, so that the import takes exactly one off again: export then
# import gives back every value as it was.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def spreadsheet_text(text: str) -> str:
    """A text cell as it is exported: a leading apostrophe where a spreadsheet would
    see a formula (or an apostrophe)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def from_spreadsheet_text(text: str) -> str:
    """The inverse of spreadsheet_text, for a text cell read from CSV."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
