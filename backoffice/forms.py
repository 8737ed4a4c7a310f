"""Form fields and widgets the whole admin uses."""

from __future__ import annotations

import json
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from backoffice.formatting import significant_decimals

MAX_JSON_CHARACTERS = 64 * 1024


class JSONField(forms.JSONField):
    """Django's JSON form field, for input a person types or pastes: at most
    MAX_JSON_CHARACTERS, and nesting deep enough to exhaust the stack is a form error
    (json.loads raises RecursionError, which Django's field lets through: a 500)."""

    def to_python(self, value):
        if isinstance(value, str) and len(value) > MAX_JSON_CHARACTERS:
            raise ValidationError(
                f"Keep this under {MAX_JSON_CHARACTERS:,} characters (it has {len(value):,}).",
                code="invalid",
            )
        try:
            return super().to_python(value)
        except RecursionError:
            raise ValidationError("This is nested too deeply.", code="invalid") from None

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)

    def has_changed(self, initial, data):
        try:
            return super().has_changed(initial, data)
        except (RecursionError, json.JSONDecodeError):
            return True


class NumberWithUnit(forms.NumberInput):
    """A number input followed by its unit (``USD``, ``lots``, ``%``, ``min``)."""

    def __init__(self, unit: str = "", attrs=None):
        super().__init__(attrs)
        self.unit = unit

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        if not self.unit:
            return html
        return format_html('{}<span class="field-unit">{}</span>', html, self.unit)


class PlainDecimalField(forms.DecimalField):
    """A decimal shown as a person writes it (``2``, ``0.1``, ``5000``), not with the
    column's padding (``2.00000000``), beside its unit."""

    def __init__(self, *, unit: str = "", **kwargs):
        kwargs.setdefault("widget", NumberWithUnit(unit))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, Decimal) and value.is_finite():
            return f"{value:.{significant_decimals(value)}f}"
        return super().prepare_value(value)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs["step"] = "any"  # any precision the column keeps; the field says which
        return attrs


def set_unit(field: forms.Field, unit: str) -> None:
    """Give a field's NumberWithUnit its unit (one known when the form is made)."""
    if isinstance(field.widget, NumberWithUnit):
        field.widget.unit = unit


def plain_text_error(text: str, *, max_length: int) -> str | None:
    """Why ``text`` cannot be kept as typed (too long, a control character, a NUL, a
    lone surrogate), or None."""
    if len(text) > max_length:
        return f"Keep it to {max_length:,} characters (it has {len(text):,})."
    if any((ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127 for c in text):
        return "Use plain text, without control characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "This holds a character that is not valid text (a lone surrogate)."
    return None
