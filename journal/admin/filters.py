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
from journal.models import ReviewStatus, Side
from journal.reviews import GRADES
from journal.selectors import (
    earliest_opening_of_closes,
    registry_version_labels,
    review_tag_values,
    trade_distinct_values,
    trades_checked,
    trades_tagged,
)
from journal.tags import problem, spelling

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
    """Trades whose review carries a tag (the tags reviewers gave, most recent list),
    in any case or spacing: the value is spelled as tags are (journal.tags)."""

    title = "review tag"
    parameter_name = "tag"
    field = "tags"

    def lookups(self, request, model_admin):
        tags = review_tag_values(field=self.field)
        current = self.value()
        if current and spelling(current) not in tags:
            tags = [*tags, current]  # a tag past the list's limit stays visible
        return [(tag, tag) for tag in tags]

    def value(self):
        value = super().value()
        # The choice shown as chosen is the stored spelling of what was asked for.
        return spelling(value) if value is not None and len(value) <= 400 else value

    def queryset(self, request, queryset):
        tag = self.value()
        if tag is None:
            return queryset
        why = problem(tag)
        if why:
            raise IncorrectLookupParameters(f"{self.title}: {why}")
        return trades_tagged(queryset=queryset, tag=tag, field=self.field)


class ReviewMistakeFilter(ReviewTagFilter):
    """Trades whose review names a mistake (journal.tags' spelling, any case)."""

    title = "mistake"
    parameter_name = "mistake"
    field = "mistakes"


class SideFilter(admin.SimpleListFilter):
    """Long or short (the parameter the dashboard uses too: ``side``)."""

    title = "side"
    parameter_name = "side"

    def lookups(self, request, model_admin):
        return Side.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value not in Side.values:
            raise IncorrectLookupParameters(f"unknown side {value[:20]!r}: use long or short")
        return queryset.filter(side=value)


class ModelVersionFilter(admin.SimpleListFilter):
    """The model version that proposed the trade (name@version), from the registry's
    versions (the trade column has no index of its own: a list of choices from the
    registry, never a scan of the trades)."""

    title = "model version"
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        labels = registry_version_labels()
        current = self.value()
        if current and current not in labels:
            labels = [*labels, current]  # a version the registry does not list
        return [(label, label) for label in labels]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if len(value) > 132:
            raise IncorrectLookupParameters("a model version has at most 132 characters")
        return queryset.filter(model_version=value)


class WeekdayFilter(admin.SimpleListFilter):
    """The UTC weekday a trade closed on (the dashboard's "by weekday" rows open their
    trades with it); shown only while chosen, to keep the sidebar short."""

    title = "closing weekday (UTC)"
    parameter_name = "weekday"
    NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

    def lookups(self, request, model_admin):
        return [(str(n), name) for n, name in enumerate(self.NAMES, 1)]

    def has_output(self):
        return self.value() is not None

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value not in {str(n) for n in range(1, 8)}:
            raise IncorrectLookupParameters("a weekday is 1 (Monday) to 7 (Sunday)")
        return queryset.filter(closed_at__iso_week_day=int(value))


class HourFilter(admin.SimpleListFilter):
    """The UTC hour a trade was opened in (the dashboard's "by hour" rows); shown only
    while chosen."""

    title = "hour opened (UTC)"
    parameter_name = "hour"

    def lookups(self, request, model_admin):
        return [(str(h), f"{h:02d}:00 to {h:02d}:59") for h in range(24)]

    def has_output(self):
        return self.value() is not None

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value not in {str(h) for h in range(24)}:
            raise IncorrectLookupParameters("an hour is 0 to 23")
        return queryset.filter(executed_at__hour=int(value))


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
    field = "executed_at"
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
            queryset = queryset.filter(**{f"{self.field}__gte": start})
        if end is not None:
            queryset = queryset.filter(**{f"{self.field}__lt": end})
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
                raise IncorrectLookupParameters(f"unknown period {period[:20]!r}")
            return fixed[period]
        start = _day_start(self.date_from)
        end = _day_start(self.date_to)
        return start, (end + timedelta(days=1) if end else None)


class ClosedAtFilter(ExecutedAtFilter):
    """Close time (the day a trade counts on in every figure): a preset period, or from
    / to dates (UTC days, both included). The dashboard's calendar days and breakdown
    rows open their trades with it.

    A trade closes after it opens, so the range bounds executed_at from above too; on
    TimescaleDB the daily rows say when the earliest trade that closed in the range
    was opened, which bounds it from below (journal.selectors
    .earliest_opening_of_closes): the hypertable's chunks outside are never read, and
    its compressed ones have no index of closed_at."""

    title = "close time"
    field = "closed_at"
    period_parameter = "closed"
    from_parameter = "closed_from"
    to_parameter = "closed_to"

    def queryset(self, request, queryset):
        start, end = self.bounds(timezone.now())
        if start is None and end is None:
            return queryset
        queryset = super().queryset(request, queryset)
        if end is not None:
            queryset = queryset.filter(executed_at__lt=end)
        earliest = earliest_opening_of_closes(start=start, end=end)
        if earliest is not None:
            queryset = queryset.filter(executed_at__gte=earliest)
        return queryset


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
