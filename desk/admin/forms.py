"""The forms a risk manager uses: the risk config and a strategy, without JSON.

Symbols are picked from the instruments, sessions and conditions are rows
(desk/admin/widgets.py), exit rules and risk caps are labelled number fields with their units;
labels and help come from desk.domain.limits and the models. Every error is said in plain
words of the field it is about. The models' clean() (and the JSON schemas under it)
remain the rule underneath, so the API and the legacy import obey the same.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.html import format_html

from backoffice.core.forms import (
    CurrencyField,
    NumberWithUnit,
    PlainDecimalField,
    PlainIntegerField,
    plain_text_error,
    set_unit,
)
from desk.admin.widgets import conditions_field, sessions_field
from desk.domain.limits import EDITABLE_LIMITS, LIMITS, UNIT_SUFFIX
from desk.models import RiskConfig, Strategy
from desk.services import REASON_MAX
from journal.models import Instrument


class SymbolPicker(FilteredSelectMultiple):
    """The admin's two-list picker in a wrapper of its own: its script puts the lists
    first in their parent, which would otherwise be the row that holds the label."""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html(
            '<div class="symbol-picker">{}</div>', super().render(name, value, attrs, renderer)
        )


class SymbolsField(forms.MultipleChoiceField):
    """Symbols picked from the desk's active instruments; a symbol already chosen that is
    no instrument stays listed (marked), so that saving never drops it unseen."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", SymbolPicker("symbols", is_stacked=False))
        super().__init__(choices=(), **kwargs)

    def offer(self, current: list[str] | None) -> None:
        """Fill the choices: the instruments, and whatever ``current`` holds beside them."""
        choices = [
            (symbol, f"{symbol} — {name}" if name else symbol)
            for symbol, name in Instrument.objects.filter(is_active=True)
            .order_by("symbol")
            .values_list("symbol", "name")
        ]
        known = {symbol for symbol, _ in choices}
        for symbol in current or []:
            if isinstance(symbol, str) and symbol not in known:
                choices.append((symbol, f"{symbol} (no instrument of the desk)"))
                known.add(symbol)
        self.choices = choices

    def valid_value(self, value):
        if super().valid_value(value):
            return True
        raise ValidationError(
            f"{str(value)[:32]} is no instrument of the desk: a risk manager adds it under "
            "Instruments first.",
            code="invalid_choice",
        )


def _count_field(name: str, unit: str) -> PlainIntegerField:
    limit = LIMITS[name]
    model_field = RiskConfig._meta.get_field(name)
    return PlainIntegerField(
        label=limit.label,
        help_text=limit.help,
        required=not model_field.null,
        min_value=0,
        max_value=2_147_483_647,
        widget=NumberWithUnit(unit),
    )


def _limit_field(name: str, **kwargs) -> PlainDecimalField:
    limit = LIMITS[name]
    model_field = RiskConfig._meta.get_field(name)
    return PlainDecimalField(
        label=limit.label,
        help_text=limit.help,
        required=not model_field.null,
        max_digits=model_field.max_digits,
        decimal_places=model_field.decimal_places,
        unit=UNIT_SUFFIX.get(limit.unit, ""),
        **kwargs,
    )


class RiskConfigForm(forms.ModelForm):
    """The single risk config: each limit with its unit and help, the watchlist picked
    from the instruments, and the reason for a change (required; kept in the audit)."""

    currency = CurrencyField(label=LIMITS["currency"].label, help_text=LIMITS["currency"].help)
    min_confidence_threshold = _limit_field("min_confidence_threshold")
    max_lot_size = _limit_field("max_lot_size")
    default_lot_size = _limit_field("default_lot_size")
    max_risk_per_trade = _limit_field("max_risk_per_trade")
    max_risk_pct_of_equity = _limit_field("max_risk_pct_of_equity")
    daily_profit_target = _limit_field("daily_profit_target")
    max_daily_loss = _limit_field("max_daily_loss")
    max_drawdown_amount = _limit_field("max_drawdown_amount")
    max_concurrent_trades = _count_field("max_concurrent_trades", "trades")
    max_input_age_minutes = _count_field("max_input_age_minutes", "min")
    watchlist = SymbolsField(label=LIMITS["watchlist"].label, help_text=LIMITS["watchlist"].help)
    reason = forms.CharField(
        label="Why",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea({"rows": 2, "cols": 60}),
        help_text="Required for every change of a limit; kept in the audit with the change.",
    )

    class Meta:
        model = RiskConfig
        fields = list(EDITABLE_LIMITS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.instance.currency or "USD"
        for name in (
            "max_risk_per_trade",
            "daily_profit_target",
            "max_daily_loss",
            "max_drawdown_amount",
        ):
            set_unit(self.fields[name], currency)
        self.fields["watchlist"].offer(self.instance.watchlist)

    def clean_risk_account(self):
        account = (self.cleaned_data.get("risk_account") or "").strip()
        problem = plain_text_error(account, max_length=64)
        if problem:
            raise ValidationError(problem)
        return account

    def clean_reason(self):
        reason = (self.cleaned_data.get("reason") or "").strip()
        problem = plain_text_error(reason, max_length=REASON_MAX)
        if problem:
            raise ValidationError(problem)
        return reason

    def changed_limits(self) -> list[str]:
        return [name for name in self.changed_data if name in EDITABLE_LIMITS]

    def clean(self):
        data = super().clean()
        if self.changed_limits() and not data.get("reason") and "reason" not in self.errors:
            self.add_error("reason", "Say why the limits change: the reason is kept in the audit.")
        return data


# -- strategies ------------------------------------------------------------------------

EXIT_NUMBERS = {
    # form field: (key in exit_rules, label, unit, help, whole number)
    "exit_stop_loss_pips": ("stop_loss_pips", "Stop loss", "pips", "From the entry.", False),
    "exit_take_profit_pips": (
        "take_profit_pips",
        "Take profit",
        "pips",
        "From the entry.",
        False,
    ),
    "exit_trailing_stop_pips": (
        "trailing_stop_pips",
        "Trailing stop",
        "pips",
        "Behind the best price reached.",
        False,
    ),
    "exit_max_hold_minutes": (
        "max_hold_minutes",
        "Longest hold",
        "min",
        "A trade still open after this long is closed.",
        True,
    ),
}
CAP_NUMBERS = {
    "cap_max_lot_size": (
        "max_lot_size",
        "Maximum lot size",
        "lots",
        "Ideas of this strategy with a larger lot are rejected.",
        False,
    ),
    "cap_max_daily_loss": (
        "max_daily_loss",
        "Daily loss limit",
        "",  # the account currency, set with the form
        "Today's closed loss of this strategy at which its ideas are rejected.",
        False,
    ),
    "cap_max_trades_per_day": (
        "max_trades_per_day",
        "Trades per day",
        "trades",
        "Ideas after this many trades opened today are rejected.",
        True,
    ),
    "cap_max_open_trades": (
        "max_open_trades",
        "Open trades",
        "trades",
        "Ideas while this many trades of the strategy are open are rejected.",
        True,
    ),
}
MAX_SETTING = Decimal(10) ** 9


def _number_field(label: str, unit: str, help_text: str, whole: bool) -> forms.Field:
    if whole:
        return PlainIntegerField(
            label=label,
            help_text=f"{help_text} Empty: none.",
            required=False,
            min_value=1,
            max_value=10**6,
            widget=NumberWithUnit(unit),
        )
    return PlainDecimalField(
        label=label,
        help_text=f"{help_text} Empty: none.",
        required=False,
        max_digits=20,
        decimal_places=8,
        unit=unit,
    )


class StrategyForm(forms.ModelForm):
    """A strategy: its symbols, sessions and conditions as rows, exit rules and risk caps
    as numbers; the JSON fields are assembled from them."""

    allowed_symbols = SymbolsField(
        label="Symbols", help_text="The symbols its ideas may trade. None chosen: any symbol."
    )
    session_windows = sessions_field(
        label="Trading sessions",
        help_text="Ideas outside every session are rejected; none: any time. Days: none "
        "ticked is every day. An end before the start runs past midnight. Time zone: "
        "empty is UTC. Empty a row to remove it.",
    )
    entry_conditions = conditions_field(
        label="Entry conditions",
        help_text="What the strategy enters on (for the bots; the gate does not check "
        "them). The value is a number or another figure's name (close below sma_200).",
    )
    forbidden_conditions = conditions_field(
        label="Forbidden conditions",
        help_text="Ideas are rejected while one of these holds; one the desk cannot tell "
        "(no such figure observed) waits for a person. impact_level compares with "
        "none, low, medium or high (calendar events within 30 minutes).",
    )
    exit_stop_loss_pips = _number_field(*EXIT_NUMBERS["exit_stop_loss_pips"][1:])
    exit_take_profit_pips = _number_field(*EXIT_NUMBERS["exit_take_profit_pips"][1:])
    exit_trailing_stop_pips = _number_field(*EXIT_NUMBERS["exit_trailing_stop_pips"][1:])
    exit_max_hold_minutes = _number_field(*EXIT_NUMBERS["exit_max_hold_minutes"][1:])
    exit_conditions = conditions_field(
        label="Exit conditions", help_text="Close the trade when one of these holds."
    )
    cap_max_lot_size = _number_field(*CAP_NUMBERS["cap_max_lot_size"][1:])
    cap_max_daily_loss = _number_field(*CAP_NUMBERS["cap_max_daily_loss"][1:])
    cap_max_trades_per_day = _number_field(*CAP_NUMBERS["cap_max_trades_per_day"][1:])
    cap_max_open_trades = _number_field(*CAP_NUMBERS["cap_max_open_trades"][1:])

    class Meta:
        model = Strategy
        fields = [
            "name",
            "is_active",
            "allowed_symbols",
            "rr_expectation",
            "session_windows",
            "entry_conditions",
            "forbidden_conditions",
        ]
        labels = {"rr_expectation": "Reward:risk expectation"}
        help_texts = {
            "rr_expectation": "The least reward per unit of risk an idea must offer: 2 means "
            "a target twice as far as the stop (2:1). Empty: not checked.",
        }
        field_classes = {"rr_expectation": PlainDecimalField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from desk.services import risk_config_get

        set_unit(self.fields["cap_max_daily_loss"], risk_config_get().currency)
        set_unit(self.fields["rr_expectation"], ": 1")
        self.fields["allowed_symbols"].offer(self.instance.allowed_symbols)
        exit_rules = self.instance.exit_rules if isinstance(self.instance.exit_rules, dict) else {}
        caps = self.instance.risk_caps if isinstance(self.instance.risk_caps, dict) else {}
        for name, (key, *_rest) in EXIT_NUMBERS.items():
            self.initial.setdefault(name, _decimal_or_none(exit_rules.get(key)))
        for name, (key, *_rest) in CAP_NUMBERS.items():
            self.initial.setdefault(name, _decimal_or_none(caps.get(key)))
        self.initial.setdefault("exit_conditions", exit_rules.get("conditions") or [])

    def clean_name(self):
        name = (self.cleaned_data.get("name") or "").strip()
        problem = plain_text_error(name, max_length=64)
        if problem:
            raise ValidationError(problem)
        if not name:
            raise ValidationError("Give the strategy a name.")
        return name

    def clean(self):
        data = super().clean()
        exit_rules = self._numbers(EXIT_NUMBERS, data)
        if data.get("exit_conditions"):
            exit_rules["conditions"] = data["exit_conditions"]
        self.instance.exit_rules = exit_rules
        self.instance.risk_caps = self._numbers(CAP_NUMBERS, data)
        return data

    def _numbers(self, spec: dict, data: dict) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, (key, label, *_rest) in spec.items():
            value = data.get(name)
            if value is None:
                continue
            if value <= 0:
                self.add_error(name, f"{label}: give more than 0, or leave it empty.")
                continue
            if value >= MAX_SETTING:
                self.add_error(name, f"{label}: {value:,} is too large.")
                continue
            values[key] = _json_number(value)
        return values

    def _update_errors(self, errors):
        """The model's errors on exit_rules and risk_caps (assembled here, no fields of
        their own) go to the top of the form, with the path they name."""
        if hasattr(errors, "error_dict"):
            for name in ("exit_rules", "risk_caps"):
                if name in errors.error_dict:
                    errors.error_dict.setdefault(NON_FIELD_ERRORS, []).extend(
                        errors.error_dict.pop(name)
                    )
        super()._update_errors(errors)


def _decimal_or_none(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _json_number(value) -> int | float:
    number = Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)
