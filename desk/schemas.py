"""JSON schemas of a strategy's configuration fields, and their validation."""

from jsonschema import Draft202012Validator

_TIME = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}
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
        "items": {"type": "string", "pattern": r"^[A-Z0-9][A-Z0-9._/:=^-]{0,31}$"},
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


def schema_errors(field: str, value) -> list[str]:
    """Readable errors of ``value`` against the field's schema, each with its path."""
    validator = Draft202012Validator(SCHEMAS[field])
    messages = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = field + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
        )
        messages.append(f"{path}: {error.message}")
    return messages
