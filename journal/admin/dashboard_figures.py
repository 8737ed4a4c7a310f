"""The performance dashboard's selection and figures (its page: journal.admin.dashboard).

A selection is a period of whole UTC days (a preset, or From / To) and the filters the
trade list has, under the same names: symbol, strategy, account, side, model version,
review tag, mistake and grade (journal.admin.filters; the page keeps them in its URL and
hands them to the list when a calendar day or a breakdown row is opened). Its figures
are the journal's report of those days (journal.analytics.metrics: the same as GET
/api/v1/metrics for the same filters): read from the daily rows the database keeps when
the filters are only symbol, strategy and account, else from the trades of the period;
with the figures per review grade, tag and mistake, and the MAE/MFE of the latest
trades. The calendar shows one month (``month``), whatever the period.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django import forms

from journal.analytics import calendar, metrics, sources
from journal.domain.trade_record import EARLIEST_YEAR, LATEST_YEAR
from journal.instruments import common_currency
from journal.models import Side
from journal.reviews import GRADES
from journal.selectors import (
    earliest_opening_of_closes,
    registry_version_labels,
    review_tag_values,
    trade_distinct_values,
    trades_tagged,
)
from journal.tags import problem, spelling

PERIODS = (
    ("today", "Today"),
    ("week", "This week"),
    ("month", "This month"),
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
    ("365", "Last 365 days"),
)
DEFAULT_PERIOD = "90"
CUSTOM = "custom"
ALL = ""
NONE = "__none__"  # the empty strategy or account, or no grade, as a choice value
# The filters the dashboard shares with the trade list, by the list's parameter names.
DIMENSION_FILTERS = ("symbol", "strategy", "account")
TRADE_FILTERS = ("side", "model_version")
REVIEW_FILTERS = ("tag", "mistake", "grade")
FILTERS = (*DIMENSION_FILTERS, *TRADE_FILTERS, *REVIEW_FILTERS)


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


class TagField(forms.CharField):
    """A review tag or mistake, in any case: spelled as stored tags are (journal.tags),
    offered from the tags reviewers gave; a tag nobody gave selects nothing."""

    def __init__(self, field: str, **kwargs):
        self.tag_field = field
        super().__init__(required=False, max_length=400, widget=forms.Select, **kwargs)

    def clean(self, value):
        value = spelling(super().clean(value) or "")
        why = problem(value) if value else None
        if why:
            raise forms.ValidationError(f"{why[:1].upper()}{why[1:]}.")
        return value


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
    side = forms.ChoiceField(choices=[(ALL, "Both"), *Side.choices], required=False)
    model_version = forms.CharField(
        label="Model version", required=False, max_length=132, widget=forms.Select
    )
    tag = TagField("tags", label="Tag")
    mistake = TagField("mistakes", label="Mistake")
    grade = forms.ChoiceField(
        choices=[(ALL, "Any"), *((g, g) for g in GRADES if g), (NONE, "No grade")],
        required=False,
    )
    # The calendar's month (YYYY-MM); the month links set it, "Show" keeps it.
    month = forms.CharField(required=False, max_length=7, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in DIMENSION_FILTERS:
            self.fields[name].choices = _choices(name)
        chosen = self.data.get("model_version", "") if self.is_bound else ""
        labels = registry_version_labels()
        if chosen and chosen not in labels and len(chosen) <= 132:
            labels = [*labels, chosen]
        self.fields["model_version"].widget.choices = [(ALL, "All"), *((v, v) for v in labels)]
        for name in ("tag", "mistake"):
            field = self.fields[name]
            tags = review_tag_values(field=field.tag_field)
            chosen = spelling(self.data.get(name, "") or "")[:400] if self.is_bound else ""
            if chosen and chosen not in tags:
                tags = [*tags, chosen]
            field.widget.choices = [(ALL, "Any"), *((t, t) for t in tags)]

    def clean_since(self):
        return _within_journal_years(self.cleaned_data.get("since"))

    def clean_until(self):
        return _within_journal_years(self.cleaned_data.get("until"))

    def clean_month(self):
        text = self.cleaned_data.get("month") or ""
        if not text:
            return None
        try:
            year, month = (int(part) for part in text.split("-"))
            first = date(year, month, 1)
        except ValueError:
            raise forms.ValidationError("Give a month as YYYY-MM.") from None
        return _within_journal_years(first)

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
        for name in ("tag", "mistake"):  # the page shows the spelling it looked for
            if data.get(name) and self.data.get(name) != data[name]:
                self.data = self.data.copy()
                self.data[name] = data[name]
        return data

    def selection(self, today: date) -> Selection:
        """The chosen period and filters (the form must be valid); the default period
        for a form that was not filled in."""
        data = self.cleaned_data if self.is_bound else {}
        period = data.get("period") or DEFAULT_PERIOD
        since, until = period_days(period, today, data.get("since"), data.get("until"))
        filters = {
            name: ("" if data.get(name) == NONE else data.get(name) or None) for name in FILTERS
        }
        return Selection(
            period=period, since=since, until=until, month=data.get("month"), **filters
        )


def period_days(
    period: str, today: date, since: date | None = None, until: date | None = None
) -> tuple[date | None, date | None]:
    """[since, until) of a period: a preset, or From / To (both days included)."""
    if period == CUSTOM:
        return since, (until + timedelta(days=1) if until else None)
    if period == "all":
        return None, None
    end = today + timedelta(days=1)
    if period == "today":
        return today, end
    if period == "week":
        return today - timedelta(days=today.weekday()), end
    if period == "month":
        return today.replace(day=1), end
    return end - timedelta(days=int(period)), end


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
    side: str | None = None
    model_version: str | None = None
    tag: str | None = None
    mistake: str | None = None
    grade: str | None = None  # "" for trades without a grade
    month: date | None = None  # the calendar's month (its first day); None: the latest

    def where(self) -> sources.DayFilter:
        return sources.DayFilter(self.since, self.until, self.symbol, self.strategy, self.account)

    @property
    def stored(self) -> bool:
        """True when the daily rows can answer: no filter beyond symbol, strategy and
        account (the dimensions they keep)."""
        return all(getattr(self, name) is None for name in (*TRADE_FILTERS, *REVIEW_FILTERS))

    def queryset(self):
        """The trades of the selection (closed in its days, of its filters), bounded on
        executed_at too: a trade opens before it closes, and on TimescaleDB the daily
        rows say when the earliest trade that closed in the days was opened (the
        hypertable's chunks outside are never read: compressed ones have no index of
        closed_at)."""
        trades = sources.trades_of(self.where())
        if self.until is not None:
            trades = trades.filter(executed_at__lt=sources.midnight(self.until))
        if self.since is not None:
            earliest = earliest_opening_of_closes(
                start=sources.midnight(self.since),
                end=None if self.until is None else sources.midnight(self.until),
            )
            if earliest is not None:
                trades = trades.filter(executed_at__gte=earliest)
        if self.side is not None:
            trades = trades.filter(side=self.side)
        if self.model_version is not None:
            trades = trades.filter(model_version=self.model_version)
        if self.tag is not None:
            trades = trades_tagged(queryset=trades, tag=self.tag)
        if self.mistake is not None:
            trades = trades_tagged(queryset=trades, tag=self.mistake, field="mistakes")
        if self.grade == "":
            trades = trades.exclude(review__grade__gt="")
        elif self.grade is not None:
            trades = trades.filter(review__grade=self.grade)
        return trades

    def of_days(self, since: date | None, until: date | None) -> Selection:
        """The same filters over other days."""
        return replace(self, since=since, until=until)

    @property
    def last_day(self) -> date | None:
        return self.until - timedelta(days=1) if self.until else None

    @property
    def filtered(self) -> bool:
        return any(getattr(self, name) is not None for name in FILTERS)

    def filter_values(self) -> dict[str, str]:
        """The filters as the trade list's (and this page's) query parameters."""
        out = {}
        for name in FILTERS:
            value = getattr(self, name)
            if value is not None:
                out[name] = NONE if value == "" else value
        return out


def report(selection: Selection) -> dict[str, Any]:
    """The journal's report of the selection: from the daily rows where they answer."""
    if selection.stored:
        return metrics.report_of(selection.where())
    return metrics.report(selection.queryset())


def dashboard_figures(*, selection: Selection) -> dict[str, Any]:
    """The report of the selection (metrics.report_of), its currency, the P&L calendar."""
    figures = report(selection)
    figures["currency"] = common_currency(row["symbol"] for row in figures["by_symbol"])
    figures["months"], figures["months_left_out"] = calendar.months(figures["by_day"])
    return figures
