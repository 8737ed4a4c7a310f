"""Query filters of the trade list and the metrics, shared by the API and the admin."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from journal.models import Side, Trade, TradeStatus


class SymbolFilter(django_filters.CharFilter):
    """Symbols are stored upper case; a filter for "eurusd" finds EURUSD."""

    def filter(self, qs, value):
        return super().filter(qs, value.strip().upper() if value else value)


class UtcDateTimeField(IsoDateTimeField):
    """ISO 8601 with any offset Python reads (up to ±23:59), passed on in UTC.

    PostgreSQL refuses an offset beyond ±15:59 ("time zone displacement out of range"),
    so the value must reach it in UTC; a time that UTC cannot hold (before the year 1 or
    after 9999) is refused here, by name.
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                "the time is outside the years 1 to 9999 in UTC", code="invalid"
            ) from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class TradeFilter(django_filters.FilterSet):
    """Filters of GET /trades: the time range is on executed_at."""

    symbol = SymbolFilter()
    strategy = django_filters.CharFilter()
    account = django_filters.CharFilter()
    side = django_filters.ChoiceFilter(choices=Side.choices)
    status = django_filters.ChoiceFilter(choices=TradeStatus.choices)
    model_version = django_filters.CharFilter()
    since = UtcDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="executed_at", lookup_expr="lt")

    class Meta:
        model = Trade
        fields = []


class MetricsFilter(TradeFilter):
    """Filters of GET /metrics: the time range is on closed_at (trades count on the
    day they close)."""

    since = UtcDateTimeFilter(field_name="closed_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="closed_at", lookup_expr="lt")
