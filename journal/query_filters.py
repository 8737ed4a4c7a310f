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


class TagFilter(django_filters.CharFilter):
    """A review tag or mistake in any case or spacing (journal.tags spells it as the
    stored tags are spelled): "Chased" finds the trades tagged "chased"."""

    def __init__(self, *args, tag_field: str = "tags", **kwargs):
        self.tag_field = tag_field
        super().__init__(*args, max_length=400, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        from journal.selectors import trades_tagged

        return trades_tagged(queryset=qs, tag=value, field=self.tag_field)


class GradeFilter(django_filters.ChoiceFilter):
    """The review's grade, or "none" for the trades without one."""

    def filter(self, qs, value):
        if not value:
            return qs
        if value == "none":
            return qs.exclude(review__grade__gt="")
        return qs.filter(review__grade=value)


class TradeFilter(django_filters.FilterSet):
    """Filters of GET /trades: the time range is on executed_at."""

    symbol = SymbolFilter(help_text="A symbol, in any case (eurusd finds EURUSD).")
    strategy = django_filters.CharFilter(help_text="The strategy's name, exactly.")
    account = django_filters.CharFilter(help_text="The account's name, exactly.")
    side = django_filters.ChoiceFilter(choices=Side.choices, help_text="long or short.")
    status = django_filters.ChoiceFilter(choices=TradeStatus.choices, help_text="open or closed.")
    model_version = django_filters.CharFilter(
        help_text="The model version that proposed the trade, as name@version."
    )
    tag = TagFilter(
        help_text="A review tag, in any case or spacing (Chased finds the trades tagged chased)."
    )
    mistake = TagFilter(
        tag_field="mistakes",
        help_text="A mistake the review names, in any case or spacing.",
    )
    grade = GradeFilter(
        choices=[(g, g) for g in ("A", "B", "C", "D", "F")] + [("none", "no grade")],
        help_text="The review's grade (A to F), or none for trades without one.",
    )
    since = UtcDateTimeFilter(
        field_name="executed_at",
        lookup_expr="gte",
        help_text="Opened at or after this time (ISO 8601 with an offset).",
    )
    until = UtcDateTimeFilter(
        field_name="executed_at",
        lookup_expr="lt",
        help_text="Opened before this time (ISO 8601 with an offset).",
    )

    class Meta:
        model = Trade
        fields = []


class MetricsFilter(TradeFilter):
    """Filters of GET /metrics: the time range is on closed_at (trades count on the
    day they close)."""

    since = UtcDateTimeFilter(
        field_name="closed_at",
        lookup_expr="gte",
        help_text="Closed at or after this time (ISO 8601 with an offset).",
    )
    until = UtcDateTimeFilter(
        field_name="closed_at",
        lookup_expr="lt",
        help_text="Closed before this time (ISO 8601 with an offset).",
    )
