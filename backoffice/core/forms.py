"""Form fields and widgets the whole admin uses.

Every number a person types in the admin goes through one of the Plain*Field classes
below (the project's ModelAdmin maps every numeric model field to them; hand-written
forms use them directly): plain decimal digits 0 to 9, one optional sign, one optional
decimal point. What Decimal, int and float also accept but people do not write (NaN,
sNaN, Infinity, exponents, underscores, digits of other scripts, thousands separators:
the admin writes numbers without them) is a form error saying what to write instead.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from backoffice.core.currencies import currency_problem
from backoffice.core.formatting import significant_decimals

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


# A number as people write it: ASCII digits, one optional sign, one optional point.
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_EXPONENT = re.compile(r"[0-9.][eE][+-]?[0-9]")
MAX_NUMBER_CHARACTERS = 64


def plain_number_problem(text: str, *, whole: bool = False) -> str | None:
    """Why ``text`` (stripped, not empty) is not a number as people write it, or None;
    ``whole``: a whole number is asked for."""
    if len(text) > MAX_NUMBER_CHARACTERS:
        return f"Keep the number to {MAX_NUMBER_CHARACTERS} characters."
    if PLAIN_NUMBER.fullmatch(text):
        return None
    lowered = text.lower()
    if "nan" in lowered or "inf" in lowered:
        return "Give a number: NaN and Infinity are not numbers here."
    if "_" in text:
        return "Write the number without underscores: 1000, not 1_000."
    if any(c.isdigit() or c.isnumeric() for c in text if c not in "0123456789"):
        return "Write the number with the digits 0 to 9."
    if _EXPONENT.search(text):
        return "Write the number in full, without an exponent: 100, not 1E+2."
    if "," in text:
        return "Write the number without thousands separators, with a point for decimals: 1000.5."
    if whole:
        return "Enter a whole number. Use the digits 0 to 9, e.g. 12."
    return "Write a plain number: the digits 0 to 9, with an optional sign and decimal point."


def plain_ids(raw: str, *, limit: int) -> list[int]:
    """The ids of a comma-separated list from a query string or a form (the selection
    of a bulk action), at most ``limit``: parts that are not plain digits 0 to 9 (a
    "²" passes str.isdigit() and fails int()) are left out."""
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if part.isascii() and part.isdigit() and len(part) <= 18:
            ids.append(int(part))
    return ids[:limit]


class PlainNumberMixin:
    """Refuses, before Decimal, int or float reads it, a number people do not write."""

    whole = False
    default_error_messages = {"invalid": "Write a plain number: the digits 0 to 9."}

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            problem = plain_number_problem(value.strip(), whole=self.whole)
            if problem:
                raise ValidationError(problem, code="invalid")
        return super().to_python(value)


class PlainIntegerField(PlainNumberMixin, forms.IntegerField):
    """A whole number, written plainly (``12``; ``12.0`` is 12 too, as in Django)."""

    whole = True
    default_error_messages = {"invalid": "Enter a whole number, e.g. 12."}


class PlainFloatField(PlainNumberMixin, forms.FloatField):
    """A fraction or share, written plainly (``0.1``)."""


class PlainDecimalField(PlainNumberMixin, forms.DecimalField):
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


class CurrencyField(forms.CharField):
    """A currency code: ISO 4217 (backoffice.core.currencies), or with ``crypto`` a coin's code
    too; written in any case, kept in capitals."""

    def __init__(self, *, crypto: bool = False, **kwargs):
        self.crypto = crypto
        kwargs.setdefault("max_length", 5)
        kwargs.setdefault("widget", forms.TextInput({"size": 5}))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip().upper() if isinstance(value, str) else value

    def validate(self, value):
        super().validate(value)
        if value not in self.empty_values:
            problem = currency_problem(value, crypto=self.crypto)
            if problem:
                raise ValidationError(problem, code="invalid")
