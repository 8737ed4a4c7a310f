"""Form fields the whole admin uses."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError

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
