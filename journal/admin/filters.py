"""List filters of the trade admin, each cheap on a table of millions of trades.

Choices come from an index skip-scan (journal.selectors.trade_distinct_values), never
from a SELECT DISTINCT over the table, and no filter counts its choices (no facets).
The time range replaces date_hierarchy, whose datetimes() query reads the selection.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Q
from django.utils import timezone

from journal.domain.trade_record import EARLIEST_YEAR, LATEST_YEAR
from journal.models import ReviewStatus
from journal.reviews import GRADES
from journal.selectors import (
    review_tag_values,
    trade_distinct_values,
    trades_checked,
    trades_tagged,
)

NONE = "__none__"  # the choice value of an empty strategy or account


class DistinctValueFilter(admin.SimpleListFilter):
    """One choice per distinct value of ``field`` (symbol, strategy, account)."""

    field = ""

    def lookups(self, request, model_admin):
        values = trade_distinct_values(field=self.field)
        choices = [(value or NONE, value or "(none)") for value in values]
        current = self.value()
        if current and current not in {value for value, _ in choices}:
            choices.append((current, current))  # a value past the list's limit stays visible
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(**{self.field: "" if value == NONE else value})


class SymbolFilter(DistinctValueFilter):
    title = "symbol"
    parameter_name = "symbol"
    field = "symbol"


class StrategyFilter(DistinctValueFilter):
    title = "strategy"
    parameter_name = "strategy"
    field = "strategy"


class AccountFilter(DistinctValueFilter):
    title = "account"
    parameter_name = "account"
    field = "account"


class ReviewStatusFilter(admin.SimpleListFilter):
    """A trade without a review row is unreviewed."""

    title = "review status"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return ReviewStatus.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value == ReviewStatus.UNREVIEWED:
            return queryset.filter(
                Q(review__isnull=True) | Q(review__status=ReviewStatus.UNREVIEWED)
            )
        if value not in ReviewStatus.values:
            raise IncorrectLookupParameters(f"unknown review status {value!r}")
        return queryset.filter(review__status=value)


class ReviewTagFilter(admin.SimpleListFilter):
    """Trades whose review carries a tag (the tags reviewers gave, most recent list)."""

    title = "review tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        tags = review_tag_values()
        current = self.value()
        if current and current not in tags:
            tags = [*tags, current]  # a tag past the list's limit stays visible
        return [(tag, tag) for tag in tags]

    def queryset(self, request, queryset):
        tag = self.value()
        if tag is None:
            return queryset
        if len(tag) > 40:
            raise IncorrectLookupParameters("a review tag has at most 40 characters")
        return trades_tagged(queryset=queryset, tag=tag)


class ReviewGradeFilter(admin.SimpleListFilter):
    """Trades by their review's grade; "no grade" includes trades never reviewed."""

    title = "review grade"
    parameter_name = "grade"

    def lookups(self, request, model_admin):
        return [(grade, grade) for grade in GRADES if grade] + [(NONE, "No grade")]

    def queryset(self, request, queryset):
        grade = self.value()
        if grade is None:
            return queryset
        if grade == NONE:
            return queryset.filter(Q(review__isnull=True) | Q(review__grade=""))
        if grade not in GRADES:
            raise IncorrectLookupParameters(f"unknown grade {grade[:20]!r}: use A, B, C, D or F")
        return queryset.filter(review__grade=grade)


class CheckFilter(admin.SimpleListFilter):
    """Trades by capture's checks against their instrument (journal.write.checks):
    flagged or clean, or by the reason."""

    title = "instrument checks"
    parameter_name = "checks"
    CHOICES = {
        "flagged": "Flagged",
        "clean": "Clean",
        "off_tick": "Price off the tick",
        "quantity": "Quantity off the step",
        "pnl": "P&L ≠ prices",
    }

    def lookups(self, request, model_admin):
        return list(self.CHOICES.items())

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value not in self.CHOICES:
            raise IncorrectLookupParameters(
                f"unknown check {value[:20]!r}: use {', '.join(self.CHOICES)}"
            )
        return trades_checked(queryset=queryset, reason=value)


PERIODS = {
    "today": "Today (UTC)",
    "yesterday": "Yesterday (UTC)",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
}


class ExecutedAtFilter(admin.ListFilter):
    """Execution time: a preset period, or from / to dates (UTC days, both included)."""

    title = "execution time"
    template = "admin/journal/trade/time_filter.html"
    period_parameter = "executed"
    from_parameter = "executed_from"
    to_parameter = "executed_to"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.expected_parameters():
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]
        self.hidden: list[tuple[str, str]] = []

    def expected_parameters(self):
        return [self.period_parameter, self.from_parameter, self.to_parameter]

    def has_output(self):
        return True

    @property
    def period(self) -> str | None:
        return self.used_parameters.get(self.period_parameter)

    @property
    def date_from(self) -> str:
        return self.used_parameters.get(self.from_parameter, "")

    @property
    def date_to(self) -> str:
        return self.used_parameters.get(self.to_parameter, "")

    def choices(self, changelist):
        mine = self.expected_parameters()
        # The from/to form keeps every other parameter of the list but the page.
        self.hidden = [
            (name, value)
            for name, value in changelist.params.items()
            if name not in mine and name != "p"
        ]
        yield {
            "selected": not self.used_parameters,
            "query_string": changelist.get_query_string(remove=mine),
            "display": "Any time",
        }
        for key, label in PERIODS.items():
            yield {
                "selected": self.period == key,
                "query_string": changelist.get_query_string(
                    {self.period_parameter: key}, [self.from_parameter, self.to_parameter]
                ),
                "display": label,
            }

    def queryset(self, request, queryset):
        start, end = self.bounds(timezone.now())
        if start is not None:
            queryset = queryset.filter(executed_at__gte=start)
        if end is not None:
            queryset = queryset.filter(executed_at__lt=end)
        return queryset

    def bounds(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """[start, end) of the chosen range; IncorrectLookupParameters for bad input."""
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        period = self.period
        if period:
            fixed = {
                "today": (midnight, None),
                "yesterday": (midnight - timedelta(days=1), midnight),
                "24h": (now - timedelta(hours=24), None),
                "7d": (now - timedelta(days=7), None),
                "30d": (now - timedelta(days=30), None),
                "90d": (now - timedelta(days=90), None),
            }
            if period not in fixed:
                raise IncorrectLookupParameters(f"unknown period {period!r}")
            return fixed[period]
        start = _day_start(self.date_from)
        end = _day_start(self.date_to)
        return start, (end + timedelta(days=1) if end else None)


def _day_start(text: str) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise IncorrectLookupParameters(f"not a date (YYYY-MM-DD): {text[:20]!r}") from None
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise IncorrectLookupParameters(
            f"give a date in the years {EARLIEST_YEAR} to {LATEST_YEAR}, not {text!r}"
        )
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
