"""Lists of small records edited as rows of inputs: a strategy's trading sessions and its
conditions, never typed as JSON.

A RowsWidget renders one table row per entry (and a few empty rows to add more; a row
emptied is removed) and reads them back as dicts of the typed text. A RowsField turns
those into the JSON the model stores, each problem said in plain words with its row
("Row 2: the start 25:00 is not a time of day ..."). The model's JSON schema
(desk/schemas.py) still checks the result underneath.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join

from backoffice.core.forms import plain_text_error
from desk.gate import WEEKDAYS

MAX_ROWS = 20
EMPTY_ROWS = 2  # offered below the entries, to add more without a script


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, select, days
    choices: tuple[tuple[str, str], ...] = ()
    datalist: str = ""  # the key of the widget's <datalist> of suggestions
    size: int = 10
    placeholder: str = ""


class RowsWidget(forms.Widget):
    """Rows of inputs named ``<name>-<row>-<key>``, with ``<name>-rows`` their count."""

    def __init__(self, columns: list[Column], datalists: dict[str, list[str]] | None = None):
        super().__init__()
        self.columns = columns
        self.datalists = datalists or {}

    def value_from_datadict(self, data, files, name):
        try:
            count = int(data.get(f"{name}-rows", 0))
        except (TypeError, ValueError):
            count = 0
        rows = []
        for index in range(max(0, min(count, MAX_ROWS + EMPTY_ROWS))):
            row = {}
            for column in self.columns:
                field = f"{name}-{index}-{column.key}"
                if column.kind == "days":
                    row[column.key] = data.getlist(field) if hasattr(data, "getlist") else []
                else:
                    row[column.key] = data.get(field, "")
            rows.append(row)
        return rows

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-rows" not in data

    def format_value(self, value):
        return value if isinstance(value, list) else []

    def render(self, name, value, attrs=None, renderer=None):
        rows = [row for row in self.format_value(value) if isinstance(row, dict)]
        rows += [{}] * EMPTY_ROWS
        rows = rows[: MAX_ROWS + EMPTY_ROWS]
        header = format_html_join("", "<th>{}</th>", ((c.label,) for c in self.columns))
        cells = (
            format_html_join(
                "", "<td>{}</td>", ((self._cell(name, i, c, row),) for c in self.columns)
            )
            for i, row in enumerate(rows)
        )
        body = format_html_join("", "<tr>{}</tr>", ((row,) for row in cells))
        datalists = format_html_join(
            "",
            '<datalist id="{}">{}</datalist>',
            (
                (
                    f"{name}-{list_id}",
                    format_html_join("", '<option value="{}">', ((o,) for o in options)),
                )
                for list_id, options in self.datalists.items()
            ),
        )
        return format_html(
            '<table class="rows-widget" id="id_{}"><thead><tr>{}</tr></thead><tbody>{}'
            '</tbody></table><input type="hidden" name="{}-rows" value="{}">{}',
            name,
            header,
            body,
            name,
            len(rows),
            datalists,
        )

    def _cell(self, name: str, index: int, column: Column, row: dict):
        field = f"{name}-{index}-{column.key}"
        value = row.get(column.key, "")
        if column.kind == "days":
            chosen = set(value) if isinstance(value, list) else set()
            return format_html_join(
                "",
                '<label class="day"><input type="checkbox" name="{}" value="{}"{}> {}</label>',
                (
                    (field, day, " checked" if day in chosen else "", day.capitalize())
                    for day in WEEKDAYS
                ),
            )
        if column.kind == "select":
            options = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (key, " selected" if str(value) == key else "", label)
                    for key, label in (("", "—"), *column.choices)
                ),
            )
            return format_html(
                '<select name="{}" aria-label="{} {}">{}</select>',
                field,
                column.label,
                index + 1,
                options,
            )
        return format_html(
            '<input type="text" name="{}" value="{}" size="{}" placeholder="{}"{} '
            'aria-label="{} {}">',
            field,
            "" if value is None else value,
            column.size,
            column.placeholder,
            format_html(' list="{}-{}"', name, column.datalist) if column.datalist else "",
            column.label,
            index + 1,
        )


class RowsField(forms.Field):
    """A list of records from a RowsWidget: empty rows dropped, each other row cleaned
    by ``clean_row`` (which raises ValueError with a plain sentence)."""

    def __init__(
        self,
        *,
        columns: list[Column],
        clean_row: Callable[[dict[str, Any]], dict[str, Any]],
        datalists: dict[str, list[str]] | None = None,
        **kwargs,
    ):
        kwargs.setdefault("required", False)
        super().__init__(widget=RowsWidget(columns, datalists), **kwargs)
        self.columns = columns
        self.clean_row = clean_row

    def clean(self, value):
        rows = value if isinstance(value, list) else []
        cleaned, errors = [], []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict) or _is_empty(row):
                continue
            try:
                cleaned.append(self.clean_row(row))
            except ValueError as exc:
                errors.append(f"Row {number}: {exc}")
        if len(cleaned) > MAX_ROWS:
            errors.append(f"Keep it to {MAX_ROWS} rows.")
        if errors:
            raise ValidationError(errors)
        return cleaned

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != (initial or [])
        except ValidationError:
            return True


def _is_empty(row: dict) -> bool:
    return not any((v.strip() if isinstance(v, str) else v) for v in row.values() if v is not None)


# -- what a row holds --------------------------------------------------------------------

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,39}$")
_TIMEFRAME = re.compile(r"^[A-Za-z0-9]{1,10}$")
MAX_NUMBER = Decimal(10) ** 12


def text_of(row: dict, key: str, what: str, *, max_length: int = 64) -> str:
    value = row.get(key)
    text = value.strip() if isinstance(value, str) else ""
    problem = plain_text_error(text, max_length=max_length)
    if problem:
        raise ValueError(f"{what}: {problem}")
    return text


def clock(text: str, what: str) -> str:
    """``7:00`` or ``07:00`` as ``07:00``; ValueError for anything else."""
    match = _CLOCK.match(text)
    if not match:
        shown = text if len(text) <= 12 else text[:12] + "…"
        raise ValueError(
            f"the {what} {shown or '(empty)'} is not a time of day: write HH:MM, 24 h "
            "(e.g. 07:00 or 16:30)"
        )
    return f"{int(match.group(1)):02d}:{match.group(2)}"


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def clean_session(row: dict) -> dict:
    """A trading session: days (none: every day), start and end (HH:MM, 24 h; an end
    before the start runs past midnight) and its time zone (none: UTC)."""
    start = clock(text_of(row, "start", "the start"), "start")
    end = clock(text_of(row, "end", "the end"), "end")
    if start == end:
        raise ValueError(f"it starts and ends at {start}: it would never be open")
    days = row.get("days") or []
    unknown = [d for d in days if d not in WEEKDAYS]
    if unknown:
        raise ValueError(f"{str(unknown[0])[:10]!r} is not a day of the week")
    window: dict[str, Any] = {"start": start, "end": end}
    if days:
        window["days"] = [day for day in WEEKDAYS if day in days]
    zone = text_of(row, "timezone", "the time zone")
    if zone:
        if zone not in set(time_zones()):
            raise ValueError(
                f"{zone[:40]!r} is not a time zone (e.g. UTC, Europe/London, America/New_York)"
            )
        window["timezone"] = zone
    return window


OPERATORS = (
    ("<", "< below"),
    ("<=", "≤ at most"),
    (">", "> above"),
    (">=", "≥ at least"),
    ("==", "= equals"),
    ("crosses_above", "crosses above"),
    ("crosses_below", "crosses below"),
)
INDICATORS = [
    "rsi_14",
    "sma_50",
    "sma_200",
    "macd",
    "atr",
    "open",
    "high",
    "low",
    "close",
    "impact_level",
]
TIMEFRAMES = ["M1", "M5", "M15", "M30", "H1", "H4", "D1", "W1"]


def number_or_word(text: str) -> int | float | str:
    """A condition's value: a number (as JSON stores it) or a word (another figure's
    name, such as sma_200, or a level, such as high)."""
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        number = None
    if number is not None and number.is_finite():
        if abs(number) >= MAX_NUMBER:
            raise ValueError(f"the value {text[:20]} is too large")
        return int(number) if number == number.to_integral_value() else float(number)
    if not _NAME.match(text):
        raise ValueError(
            f"the value {text[:20]!r} is neither a number nor a name such as sma_200 or high"
        )
    return text


def clean_condition(row: dict) -> dict:
    """A condition: indicator, operator, value and (optionally) timeframe."""
    indicator = text_of(row, "indicator", "the indicator", max_length=40)
    if not _NAME.match(indicator):
        raise ValueError(
            "name the indicator with letters, digits and _ (e.g. rsi_14, close, impact_level)"
        )
    operator = row.get("operator") or ""
    if operator not in dict(OPERATORS):
        raise ValueError("choose how the indicator compares (below, above, ...)")
    value = text_of(row, "value", "the value", max_length=40)
    if not value:
        raise ValueError("give the value the indicator is compared with")
    condition: dict[str, Any] = {
        "indicator": indicator,
        "operator": operator,
        "value": number_or_word(value),
    }
    timeframe = text_of(row, "timeframe", "the timeframe", max_length=10)
    if timeframe:
        if not _TIMEFRAME.match(timeframe):
            raise ValueError(f"{timeframe!r} is not a timeframe (e.g. M15, H1, D1)")
        condition["timeframe"] = timeframe
    return condition


SESSION_COLUMNS = [
    Column("days", "Days", "days"),
    Column("start", "From", size=5, placeholder="HH:MM"),
    Column("end", "To", size=5, placeholder="HH:MM"),
    Column("timezone", "Time zone", datalist="time-zones", size=18, placeholder="UTC"),
]
CONDITION_COLUMNS = [
    Column("indicator", "Indicator", datalist="indicators", size=12),
    Column("operator", "Compared", "select", choices=OPERATORS),
    Column("value", "Value", size=8),
    Column("timeframe", "Timeframe", datalist="timeframes", size=5),
]


def sessions_field(**kwargs) -> RowsField:
    return RowsField(
        columns=SESSION_COLUMNS,
        clean_row=clean_session,
        datalists={"time-zones": time_zones()},
        **kwargs,
    )


def conditions_field(**kwargs) -> RowsField:
    return RowsField(
        columns=CONDITION_COLUMNS,
        clean_row=clean_condition,
        datalists={"indicators": INDICATORS, "timeframes": TIMEFRAMES},
        **kwargs,
    )
