"""JSON schemas of a strategy's configuration fields, and their validation.

The schemas are the rule underneath every path (the admin's forms, the legacy import);
their errors are said in plain words with the path of the value at fault
(``session_windows[0].start: must be a time of day as HH:MM, 24 h (e.g. 07:00), not
'7:00'``), never as a regular expression. A pattern's words are its "x-words".
"""

from jsonschema import Draft202012Validator

_TIME = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d$",
    "x-words": "a time of day as HH:MM, 24 h (e.g. 07:00)",
}
_CONDITION = {
    "type": "object",
    "required": ["indicator", "operator", "value"],
    "properties": {
        "indicator": {"type": "string", "minLength": 1, "maxLength": 40},
        "operator": {"enum": ["<", "<=", ">", ">=", "==", "crosses_above", "crosses_below"]},
        "value": {"type": ["number", "string"]},
        "timeframe": {"type": "string", "maxLength": 10},
    },
    "additionalProperties": False,
}

SCHEMAS = {
    "allowed_symbols": {
        "type": "array",
        "items": {
            "type": "string",
            "pattern": r"^[A-Z0-9][A-Z0-9._/:=^-]{0,31}$",
            "x-words": "a symbol (capital letters, digits and . _ / : = ^ -, up to 32)",
        },
        "uniqueItems": True,
        "maxItems": 500,
    },
    "session_windows": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["start", "end"],
            "properties": {
                "start": _TIME,
                "end": _TIME,
                "days": {
                    "type": "array",
                    "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
                    "uniqueItems": True,
                },
                "timezone": {"type": "string", "maxLength": 64},
            },
            "additionalProperties": False,
        },
        "maxItems": 20,
    },
    "entry_conditions": {"type": "array", "items": _CONDITION, "maxItems": 50},
    "forbidden_conditions": {"type": "array", "items": _CONDITION, "maxItems": 50},
    "exit_rules": {
        "type": "object",
        "properties": {
            "stop_loss_pips": {"type": "number", "exclusiveMinimum": 0},
            "take_profit_pips": {"type": "number", "exclusiveMinimum": 0},
            "trailing_stop_pips": {"type": "number", "exclusiveMinimum": 0},
            "max_hold_minutes": {"type": "integer", "minimum": 1},
            "conditions": {"type": "array", "items": _CONDITION},
        },
        "additionalProperties": False,
    },
    "risk_caps": {
        "type": "object",
        "properties": {
            "max_lot_size": {"type": "number", "exclusiveMinimum": 0},
            "max_daily_loss": {"type": "number", "exclusiveMinimum": 0},
            "max_trades_per_day": {"type": "integer", "minimum": 1},
            "max_open_trades": {"type": "integer", "minimum": 1},
        },
        "additionalProperties": False,
    },
}


TYPE_WORDS = {
    "array": "a list",
    "object": "a set of named settings",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
}


def schema_errors(field: str, value) -> list[str]:
    """Readable errors of ``value`` against the field's schema, each with its path."""
    validator = Draft202012Validator(SCHEMAS[field])
    messages = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = field + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
        )
        messages.append(f"{path}: {plain_words(error)}")
    return messages


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def plain_words(error) -> str:
    """What a jsonschema error means, without its regular expression or schema terms."""
    kind, limit, instance = error.validator, error.validator_value, error.instance
    if kind == "pattern":
        return (
            f"must be {error.schema.get('x-words', 'in the expected form')}, not {_shown(instance)}"
        )
    if kind == "enum":
        return f"must be one of {', '.join(map(str, limit))}, not {_shown(instance)}"
    if kind == "type":
        kinds = [limit] if isinstance(limit, str) else list(limit)
        return f"must be {' or '.join(TYPE_WORDS.get(k, k) for k in kinds)}, not {_shown(instance)}"
    if kind == "required":
        missing = [name for name in limit if name not in instance]
        return f"needs {', '.join(missing)}"
    if kind == "additionalProperties":
        allowed = ", ".join(error.schema.get("properties", {}))
        unknown = ", ".join(sorted(set(instance) - set(error.schema.get("properties", {}))))
        return f"has no setting {unknown[:60]} (the settings are {allowed})"
    if kind == "exclusiveMinimum":
        return f"must be more than {limit}, not {_shown(instance)}"
    if kind == "minimum":
        return f"must be at least {limit}, not {_shown(instance)}"
    if kind == "maxItems":
        return f"holds at most {limit} entries"
    if kind == "uniqueItems":
        return "lists the same value twice"
    if kind == "maxLength":
        return f"must be at most {limit} characters"
    if kind == "minLength":
        return "must not be empty"
    return error.message
