"""Export of trades in the record format: CSV (safe to open in a spreadsheet) or JSON lines,
with each trade's figures after the record's columns (its R-multiple, holding time and,
where the stored bars cover it, MAE and MFE in price and in R) and its review (status,
grade, tags, mistakes, notes, reviewer, time). An import reads past those columns: they
are computed, or belong to the review, which no import writes; an exported file
therefore re-imports as exactly the trades it lists (tests/journal/test_export_figures.py).

Decimals are written plainly, never in scientific notation (``str`` of a stored zero is
``0E-8``, which the import's fast path rightly declines): a price with its instrument's
decimals, a quantity with its quantity step's, fees and P&L with their currency's, each
only where that is exact (an off-tick price keeps the digits it has), and without padding
zeros where the symbol is no instrument. An export therefore re-imports by the fast path.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import IO, Any

from backoffice.core.formatting import CURRENCY_DECIMALS, significant_decimals, step_decimals
from journal import instruments
from journal.domain.r_multiple import r_multiple
from journal.domain.trade_record import (
    FIELDS,
    FIGURE_COLUMNS,
    REVIEW_COLUMNS,
    TEXT_FIELDS,
    spreadsheet_text,
)
from journal.tags import text_of

FORMATS = ("csv", "jsonl")
# What an export writes: the record format, then the trade's figures and its review,
# which an import reads past (journal.domain.trade_record.DERIVED_COLUMNS).
EXPORT_COLUMNS = (*FIELDS, *FIGURE_COLUMNS, *REVIEW_COLUMNS)
PRICE_FIELDS = frozenset({"entry_price", "exit_price", "stop_loss"})
MONEY_FIELDS = frozenset({"fees", "pnl"})
_SYMBOL = FIELDS.index("symbol")


def plain_decimal(value: Decimal, decimals: int | None = None) -> str:
    """``value`` in plain notation with at least ``decimals`` places where that is exact
    (more where the value has more), without padding zeros when ``decimals`` is None."""
    if not value:
        value = abs(value)  # no "-0"
    places = significant_decimals(value)
    if decimals is not None:
        places = max(places, decimals)
    return f"{value:.{places}f}"


def field_decimals(field: str | None, instrument) -> int | None:
    """The decimals ``field`` is written with for a trade of ``instrument`` (None: as
    few as the value needs)."""
    if instrument is None or field is None:
        return None
    if field in PRICE_FIELDS:
        return instrument.price_decimals
    if field == "quantity":
        return step_decimals(instrument.quantity_step)
    if field in MONEY_FIELDS:
        return CURRENCY_DECIMALS.get(instrument.quote_currency, 2)
    return None


def export_cell(value: Any, field: str | None = None, instrument=None) -> str:
    """One value as it is written in a CSV cell of the record format."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain_decimal(value, field_decimals(field, instrument))
    text = str(value)
    return spreadsheet_text(text) if field in TEXT_FIELDS else text


def _instruments() -> dict:
    return instruments.instruments() or {}


def record_cells(values: tuple, known: dict) -> list[str]:
    """A trade's values (in FIELDS order) as the record format's cells."""
    instrument = known.get(values[_SYMBOL])
    return [export_cell(v, f, instrument) for f, v in zip(FIELDS, values, strict=True)]


# -- the trade's figures and its review, after the record's columns -----------------------

R_DECIMALS = 4  # R-multiples (and MAE / MFE in R): four places, a ratio of no instrument
# The review's values, in REVIEW_COLUMNS' order.
REVIEW_VALUES = (
    "review__status",
    "review__grade",
    "review__tags",
    "review__mistakes",
    "review__notes",
    "review__reviewed_by__username",
    "review__reviewed_at",
)
BATCH = 2000  # trades whose MAE / MFE one query of the bars measures


def figure_values(trade, excursion) -> dict[str, Decimal | None]:
    """FIGURE_COLUMNS of a trade: its R-multiple and holding time (from the trade), its
    MAE / MFE in price and in R (from the bars that cover it, else None)."""
    r = r_multiple(trade.side, trade.entry_price, trade.exit_price, trade.stop_loss)
    held = None if trade.closed_at is None else trade.closed_at - trade.executed_at
    usable = excursion is not None and not excursion.disagreement
    return {
        "r_multiple": r,
        "holding_seconds": None if held is None else _seconds(held),
        "mae": excursion.mae if usable else None,
        "mfe": excursion.mfe if usable else None,
        "mae_r": excursion.mae_r if usable else None,
        "mfe_r": excursion.mfe_r if usable else None,
    }


def figure_text(name: str, value: Decimal | None, instrument) -> str | None:
    """A figure as it is written (None stays None): MAE / MFE in price at the
    instrument's price decimals, R to R_DECIMALS places, seconds as they are."""
    if value is None:
        return None
    if name in ("mae", "mfe"):
        return plain_decimal(value, instrument.price_decimals if instrument else None)
    if name == "holding_seconds":
        return plain_decimal(value)
    return plain_decimal(value.quantize(Decimal(1).scaleb(-R_DECIMALS)), R_DECIMALS)


def _seconds(span) -> Decimal:
    return Decimal(span.days * 86400 + span.seconds) + Decimal(span.microseconds).scaleb(-6)


def rows_with_figures(queryset, chunk_size: int = BATCH):
    """(record values, figures, review values) of each trade of ``queryset``, streamed in
    batches through a server-side cursor; each batch's MAE / MFE measured in one query
    of the bars (journal.analytics.excursions)."""
    from journal.analytics.excursions import excursions

    names = ("pk", *FIELDS, *REVIEW_VALUES)
    values = queryset.values_list(*names).iterator(chunk_size=chunk_size)
    while batch := list(itertools.islice(values, chunk_size)):
        trades = [SimpleNamespace(**dict(zip(names, row, strict=True))) for row in batch]
        found = excursions(trades)
        for row, trade in zip(batch, trades, strict=True):
            yield (
                row[1 : 1 + len(FIELDS)],
                figure_values(trade, found.get(trade.pk)),
                row[1 + len(FIELDS) :],
            )


def review_cells(review: tuple, *, as_json: bool = False) -> list:
    """REVIEW_COLUMNS of a trade (its review's values, in REVIEW_VALUES' order)."""
    status, grade, tags, mistakes, notes, reviewer, reviewed_at = review
    if as_json:
        return [
            status or "unreviewed",
            grade or "",
            list(tags or []),
            list(mistakes or []),
            notes or "",
            reviewer or "",
            export_cell(reviewed_at),
        ]
    return [
        status or "unreviewed",
        grade or "",
        spreadsheet_text(text_of(tags or [])),
        spreadsheet_text(text_of(mistakes or [])),
        spreadsheet_text(notes or ""),
        spreadsheet_text(reviewer or ""),
        export_cell(reviewed_at),
    ]


class _Echo:
    """A file-like object whose write returns what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(queryset, chunk_size: int = BATCH) -> Iterator[str]:
    """The trades of ``queryset`` as CSV lines, header first, safe to open in a
    spreadsheet: the record format, then the trade's figures and its review
    (EXPORT_COLUMNS); streamed through a server-side cursor. The one CSV writer of the
    journal: export_trades and the admin's export both use it."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    known = _instruments()
    yield writer.writerow(EXPORT_COLUMNS)
    for record, figures, review in rows_with_figures(queryset, chunk_size):
        instrument = known.get(record[_SYMBOL])
        cells = record_cells(record, known)
        cells += [figure_text(n, figures[n], instrument) or "" for n in FIGURE_COLUMNS]
        yield writer.writerow(cells + review_cells(review))


# The admin's export writes the same columns (it wrote only the review's before).
review_csv_lines = csv_lines


def export_rows(queryset, handle: IO[str], fmt: str, progress=None) -> int:
    """Stream trades in the record format with their figures and review; returns the
    number written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    count = 0
    if fmt == "csv":
        lines = csv_lines(queryset)
        handle.write(next(lines))
        for line in lines:
            handle.write(line)
            count += 1
            if progress is not None:
                progress(1)
        return count
    known = _instruments()
    for values, figures, review in rows_with_figures(queryset):
        # JSON keeps objects, lists and whole numbers (idea_id) as they are, as the API
        # answers them; decimals and times are strings, as in CSV. Text as it is (no
        # spreadsheet escape in JSON); decimals by the instrument.
        instrument = known.get(values[_SYMBOL])
        row = {
            name: v
            if isinstance(v, dict | list | int)
            else plain_decimal(v, field_decimals(name, instrument))
            if isinstance(v, Decimal)
            else export_cell(v)
            for name, v in zip(FIELDS, values, strict=True)
        }
        row.update({n: figure_text(n, figures[n], instrument) for n in FIGURE_COLUMNS})
        row.update(zip(REVIEW_COLUMNS, review_cells(review, as_json=True), strict=True))
        handle.write(json.dumps(row) + "\n")
        count += 1
        if progress is not None:
            progress(1)
    return count
