"""Snapshots of markets, news and accounts, and the legacy settings: read-only, browsable
by symbol and time, each figure written by its instrument or currency."""

from django.contrib import admin
from django.db.models import Subquery

from backoffice.core import formatting
from backoffice.core.admin_site import ReadOnlyAdmin
from desk.models import (
    AccountSnapshot,
    CalendarEvent,
    IndicatorSnapshot,
    LegacySetting,
    MarketBar,
    NewsItem,
    RiskConfig,
)
from journal.display import price_text


class SnapshotAdmin(ReadOnlyAdmin):
    show_full_result_count = False
    ordering = ["-captured_at"]
    list_filter = ["symbol"]
    search_fields = ["symbol"]

    def get_fields(self, request, obj=None):
        return self.fields or [*self.list_display]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


def _price_column(name: str):
    @admin.display(description=name)
    def column(self, obj):
        return price_text(obj.symbol, getattr(obj, name))

    column.__name__ = f"{name}_price"
    return column


@admin.register(MarketBar)
class MarketBarAdmin(SnapshotAdmin):
    list_display = [
        "captured_at",
        "symbol",
        "timeframe",
        "open_price",
        "high_price",
        "low_price",
        "close_price",
        "volume_text",
    ]
    list_filter = ["symbol", "timeframe"]
    open_price = _price_column("open")
    high_price = _price_column("high")
    low_price = _price_column("low")
    close_price = _price_column("close")

    @admin.display(description="volume")
    def volume_text(self, obj):
        return formatting.plain(obj.volume)


@admin.register(IndicatorSnapshot)
class IndicatorSnapshotAdmin(SnapshotAdmin):
    list_display = [
        "captured_at",
        "symbol",
        "timeframe",
        "rsi",
        "sma_50_price",
        "sma_200_price",
        "macd_value",
        "atr_value",
    ]
    list_filter = ["symbol", "timeframe"]
    sma_50_price = _price_column("sma_50")
    sma_200_price = _price_column("sma_200")

    @admin.display(description="RSI (14)")
    def rsi(self, obj):
        return "—" if obj.rsi_14 is None else formatting.number(obj.rsi_14, 1)

    @admin.display(description="MACD")
    def macd_value(self, obj):
        return formatting.plain(obj.macd)

    @admin.display(description="ATR")
    def atr_value(self, obj):
        return formatting.plain(obj.atr)


@admin.register(CalendarEvent)
class CalendarEventAdmin(SnapshotAdmin):
    list_display = [
        "event_time",
        "currency",
        "impact_level",
        "title",
        "previous_value",
        "forecast_value",
        "actual_value",
    ]
    fields = [*list_display, "captured_at"]
    list_filter = ["currency", "impact_level"]
    search_fields = ["title", "currency"]


@admin.register(NewsItem)
class NewsItemAdmin(SnapshotAdmin):
    list_display = ["published_at", "headline", "source", "symbol_list"]
    fields = [*list_display, "captured_at"]
    list_filter = ["source"]
    search_fields = ["headline"]

    @admin.display(description="symbols")
    def symbol_list(self, obj):
        return ", ".join(s for s in obj.symbols if isinstance(s, str)) or "—"


@admin.register(AccountSnapshot)
class AccountSnapshotAdmin(SnapshotAdmin):
    list_display = [
        "captured_at",
        "account",
        "balance_text",
        "equity_text",
        "margin_used_text",
        "margin_free_text",
        "open_pl_text",
        "open_positions",
    ]
    list_filter = ["account"]
    search_fields = ["account"]

    def get_queryset(self, request):
        # Snapshots carry no currency: the account's is the risk config's (read in the
        # same query as the page).
        currency = RiskConfig.objects.filter(pk=True).values("currency")[:1]
        return super().get_queryset(request).annotate(account_currency=Subquery(currency))

    def _money(self, obj, value, *, signed=False):
        return formatting.money(value, getattr(obj, "account_currency", "") or "", signed=signed)

    @admin.display(description="balance")
    def balance_text(self, obj):
        return self._money(obj, obj.balance)

    @admin.display(description="equity")
    def equity_text(self, obj):
        return self._money(obj, obj.equity)

    @admin.display(description="margin used")
    def margin_used_text(self, obj):
        return self._money(obj, obj.margin_used)

    @admin.display(description="margin free")
    def margin_free_text(self, obj):
        return self._money(obj, obj.margin_free)

    @admin.display(description="open P&L")
    def open_pl_text(self, obj):
        return self._money(obj, obj.open_pl, signed=True)


@admin.register(LegacySetting)
class LegacySettingAdmin(ReadOnlyAdmin):
    list_display = ["category", "key", "imported_at"]
    list_filter = ["category"]
