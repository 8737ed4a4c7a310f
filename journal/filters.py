"""Query filters of the trade list and the metrics, shared by the API and the admin."""

import django_filters

from journal.models import Side, Trade, TradeStatus


class TradeFilter(django_filters.FilterSet):
    """Filters of GET /trades: the time range is on executed_at."""

    symbol = django_filters.CharFilter(method="filter_upper")
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

    def filter_upper(self, queryset, name, value):
        return queryset.filter(**{name: value.strip().upper()})


class MetricsFilter(TradeFilter):
    """Filters of GET /metrics: the time range is on closed_at (trades count on the
    day they close)."""

    since = django_filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="lt")
