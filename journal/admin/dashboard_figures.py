"""The performance dashboard's selection and figures (its page: journal.admin.dashboard).

A selection is a period of whole UTC days (a preset, or From / To) and filters on
symbol, strategy and account. Its figures are the journal's report of those days
(journal.analytics.metrics.report_of: the same as GET /api/v1/metrics for the same
filters), read from the daily rows the database keeps, with the figures per review
grade and tag and the MAE/MFE of the latest trades.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms

from journal.analytics import calendar, metrics, sources
from journal.domain.trade_record import EARLIEST_YEAR, LATEST_YEAR
from journal.selectors import trade_distinct_values

PERIODS = (("30", "Last 30 days"), ("90", "Last 90 days"), ("365", "Last 365 days"))
DEFAULT_PERIOD = "90"
CUSTOM = "custom"
ALL = ""
NONE = "__none__"  # the empty strategy or account, as a choice value


def _choices(field: str) -> list[tuple[str, str]]:
    values = trade_distinct_values(field=field)
    return [(ALL, "All"), *((v if v else NONE, v or "(none)") for v in values)]


class DayInput(forms.DateInput):
    """A date typed as the rest of the back office writes it (YYYY-MM-DD, UTC), not the
    browser's locale date picker."""

    input_type = "text"

    def __init__(self):
        super().__init__(
            format="%Y-%m-%d",
            attrs={
                "placeholder": "YYYY-MM-DD",
                "pattern": r"\d{4}-\d{2}-\d{2}",
                "size": 10,
                "maxlength": 10,
                "inputmode": "numeric",
            },
        )


class DashboardForm(forms.Form):
    """The period and the filters. From or To, when given, decide the period; a bad
    value is an error shown on the page, never silently replaced by a default."""

    period = forms.ChoiceField(
        choices=[*PERIODS, ("all", "All time"), (CUSTOM, "From / to")], required=False
    )
    since = forms.DateField(
        label="From", required=False, input_formats=["%Y-%m-%d"], widget=DayInput()
    )
    until = forms.DateField(
        label="To", required=False, input_formats=["%Y-%m-%d"], widget=DayInput()
    )
    symbol = forms.ChoiceField(required=False)
    strategy = forms.ChoiceField(required=False)
    account = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("symbol", "strategy", "account"):
            self.fields[name].choices = _choices(name)

    def clean_since(self):
        return _within_journal_years(self.cleaned_data.get("since"))

    def clean_until(self):
        return _within_journal_years(self.cleaned_data.get("until"))

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since or until:
            data["period"] = CUSTOM
            if self.data.get("period") != CUSTOM:  # the page shows the period it used
                self.data = self.data.copy()
                self.data["period"] = CUSTOM
        elif data.get("period") == CUSTOM and not self.has_error("since"):
            if not self.has_error("until"):
                self.add_error("since", "Give a From day, a To day or both.")
        if since and until and since > until:
            self.add_error("until", "To is before From.")
        return data

    def selection(self, today: date) -> Selection:
        """The chosen period and filters (the form must be valid); the default period
        for a form that was not filled in."""
        data = self.cleaned_data if self.is_bound else {}
        period = data.get("period") or DEFAULT_PERIOD
        since = until = None
        if period == CUSTOM:
            since = data.get("since")
            until = data["until"] + timedelta(days=1) if data.get("until") else None
        elif period != "all":
            until = today + timedelta(days=1)
            since = until - timedelta(days=int(period))
        filters = {
            name: ("" if data.get(name) == NONE else data.get(name) or None)
            for name in ("symbol", "strategy", "account")
        }
        return Selection(period=period, since=since, until=until, **filters)


def _within_journal_years(day: date | None) -> date | None:
    if day is not None and not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise forms.ValidationError(f"Give a day in the years {EARLIEST_YEAR} to {LATEST_YEAR}.")
    return day


@dataclass(frozen=True)
class Selection:
    period: str
    since: date | None  # inclusive
    until: date | None  # exclusive
    symbol: str | None = None
    strategy: str | None = None
    account: str | None = None

    def where(self) -> sources.DayFilter:
        return sources.DayFilter(self.since, self.until, self.symbol, self.strategy, self.account)

    def queryset(self):
        return sources.trades_of(self.where())

    @property
    def last_day(self) -> date | None:
        return self.until - timedelta(days=1) if self.until else None

    @property
    def filtered(self) -> bool:
        return any(getattr(self, name) is not None for name in ("symbol", "strategy", "account"))


def dashboard_figures(*, selection: Selection) -> dict[str, Any]:
    """The report of the selection (metrics.report_of), its currency, the P&L calendar."""
    figures = metrics.report_of(selection.where())
    figures["currency"] = common_currency(row["symbol"] for row in figures["by_symbol"])
    figures["months"], figures["months_left_out"] = calendar.months(figures["by_day"])
    return figures


def common_currency(symbols) -> str:
    """The quote currency the selection's instruments share, or "" when they differ or
    one is unknown (the P&L is then shown as recorded, without a currency)."""
    from journal.instruments import instrument_for

    currencies = set()
    for symbol in symbols:
        instrument = instrument_for(symbol)
        if instrument is None:
            return ""
        currencies.add(instrument.quote_currency)
    return currencies.pop() if len(currencies) == 1 else ""
