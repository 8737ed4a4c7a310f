"""Query filters of the trade list and the metrics, shared by the API and the admin."""

import django_filters

from journal.models import Side, Trade, TradeStatus


class SymbolFilter(django_filters.CharFilter):
    """Symbols are stored upper case; a filter for "eurusd" finds EURUSD."""

    def filter(self, qs, value):
        return super().filter(qs, value.strip().upper() if value else value)


class TradeFilter(django_filters.FilterSet):
    """Filters of GET /trades: the time range is on executed_at."""

    symbol = SymbolFilter()
    strategy = django_filters.CharFilter()
    account = django_filters.CharFilter()
    side = django_filters.ChoiceFilter(choices=Side.choices)
    status = django_filters.ChoiceFilter(choices=TradeStatus.choices)
    model_version = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="executed_at", lookup_expr="lt")

    class Meta:
        model = Trade
        fields = []


class MetricsFilter(TradeFilter):
    """Filters of GET /metrics: the time range is on closed_at (trades count on the
    day they close)."""

    since = django_filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="lt")
