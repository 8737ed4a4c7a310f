"""Instruments in the admin: what the desk trades, kept by risk managers."""

from django.contrib import admin

from backoffice.core.admin_site import ModelAdmin
from backoffice.core.formatting import number
from journal import instruments
from journal.models import Instrument


@admin.register(Instrument)
class InstrumentAdmin(ModelAdmin):
    list_display = [
        "symbol",
        "name",
        "asset_class",
        "quote_currency",
        "price_decimals",
        "tick",
        "step",
        "contract",
        "is_active",
    ]
    list_filter = ["asset_class", "quote_currency", "is_active"]
    search_fields = ["symbol", "name"]
    fieldsets = [
        (None, {"fields": ["symbol", "name", "asset_class", "is_active"]}),
        (
            "Prices",
            {"fields": ["quote_currency", "tick_size", "price_decimals"]},
        ),
        (
            "Quantities and value",
            {
                "fields": ["quantity_step", "quantity_unit", "point_value"],
                "description": "P&L = (exit - entry) x quantity x point value, signed by "
                "side, less fees, in the quote currency.",
            },
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # trades and ideas refer to it: make it inactive instead

    @admin.display(description="tick", ordering="tick_size")
    def tick(self, obj):
        return number(obj.tick_size, obj.price_decimals)

    @admin.display(description="quantity step", ordering="quantity_step")
    def step(self, obj):
        return f"{obj.quantity_step.normalize():f} {obj.quantity_unit}"

    @admin.display(description="a move of 1.0 is worth", ordering="point_value")
    def contract(self, obj):
        unit = obj.quantity_unit.removesuffix("s") or "unit"
        return f"{number(obj.point_value, 2)} {obj.quote_currency} per {unit}"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        instruments.forget()
