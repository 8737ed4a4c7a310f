"""Instruments in the admin: what the desk trades, kept by risk managers."""

from django.contrib import admin, messages
from django.shortcuts import redirect

from backoffice.core.admin_site import ModelAdmin
from backoffice.core.formatting import number
from journal import instruments
from journal.models import Instrument, StatementImport
from journal.statements.services import StatementRefused, statement_check_again


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

    def response_add(self, request, obj, post_url_continue=None):
        """Back to the broker statement whose dry run proposed the instrument (its page
        opened this form with ?_statement=<id>), which checks the statement again."""
        statement_id = request.GET.get("_statement", "")
        if not (statement_id.isdigit() and len(statement_id) < 19):
            return super().response_add(request, obj, post_url_continue)
        if not StatementImport.objects.filter(pk=int(statement_id)).exists():
            return super().response_add(request, obj, post_url_continue)
        try:
            statement_check_again(statement_id=int(statement_id), user=request.user)
        except StatementRefused:
            pass  # imported meanwhile, or not the user's to check: the page says which
        self.message_user(request, f"Added the instrument {obj.symbol}.", messages.SUCCESS)
        return redirect("admin:journal_statementimport_change", int(statement_id))
