"""Every number field of the admin takes numbers as people write them, and nothing else
(issue 26, items 7 and 11).

Decimal, int and float accept spellings nobody types into a risk limit: ``sNaN`` (whose
comparison in the form's has_changed raised InvalidOperation: a 500 on 8 fields of the
risk form), ``NaN``, ``Infinity``, ``1E+2`` (stored as 100), ``1_0`` (10), ``١٢`` (12,
Arabic-Indic digits). The risk form also took the currency ``ZZZ``. The fields are
found, not listed: every numeric field of every registered ModelAdmin's form, and of the
hand-written admin forms, so that a field added tomorrow is held to the same rule.
"""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.core.forms import PlainNumberMixin
from desk.domain.limits import EDITABLE_LIMITS
from desk.services import risk_config_get
from journal.instruments import instruments_seed
from models_registry.admin.forms import AliasMoveForm, AliasRollbackForm
from models_registry.models import RegisteredModel
from serving.live.challenger_admin import ChallengerSetForm, PromoteForm

NUMBER_FIELDS = (forms.IntegerField, forms.DecimalField, forms.FloatField)
# Hand-written admin forms that no ModelAdmin's get_form() returns.
OTHER_FORMS = {
    "registry rollback": AliasRollbackForm,
    "challenger set": ChallengerSetForm,
    "challenger promote": PromoteForm,
}


def admin_number_fields() -> dict[str, forms.Field]:
    """ "<form>.<field>" -> the field, for every numeric field of the admin's forms."""
    from django.contrib.auth.models import User

    request = RequestFactory().get("/")
    request.user = User(username="root", is_staff=True, is_superuser=True)
    found = {}
    for model, model_admin in admin.site._registry.items():
        form = model_admin.get_form(request, None)
        for name, field in form.base_fields.items():
            if isinstance(field, NUMBER_FIELDS):
                found[f"{model._meta.label}.{name}"] = field
    for label, form in OTHER_FORMS.items():
        for name, field in form.base_fields.items():
            if isinstance(field, NUMBER_FIELDS):
                found[f"{label}.{name}"] = field
    return found


FIELDS = admin_number_fields()


def test_the_admin_has_number_fields_and_each_is_a_plain_one():
    # The forms of the issue are among them: the risk limits, a strategy, an instrument.
    assert {"desk.RiskConfig.max_lot_size", "desk.Strategy.cap_max_daily_loss"} <= set(FIELDS)
    assert {"journal.Instrument.tick_size", "challenger set.share"} <= set(FIELDS)
    assert len(FIELDS) >= 25, sorted(FIELDS)
    plain = {name for name, field in FIELDS.items() if isinstance(field, PlainNumberMixin)}
    assert plain == set(FIELDS), sorted(set(FIELDS) - plain)


# -- the values ----------------------------------------------------------------------------


def bounds(field) -> tuple[Decimal, Decimal, int]:
    """(lowest, highest, decimal places) of what the field accepts."""
    if isinstance(field, forms.DecimalField):
        places = field.decimal_places if field.decimal_places is not None else 6
    elif isinstance(field, forms.FloatField):
        places = 6
    else:
        places = 0
    digits = getattr(field, "max_digits", None) or 15
    largest = Decimal(10) ** (digits - places) - 1
    low = Decimal(str(field.min_value)) if field.min_value is not None else -largest
    high = Decimal(str(field.max_value)) if field.max_value is not None else largest
    return max(low, -largest), min(high, largest), places


@st.composite
def plain_numbers(draw, field) -> tuple[str, Decimal]:
    low, high, places = bounds(field)
    value = draw(
        st.decimals(
            min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False
        )
    )
    text = f"{value:f}"
    if value >= 0 and draw(st.booleans()):
        text = "+" + text
    if draw(st.booleans()):
        text = f" {text} "
    return text, value


def as_decimal(value) -> Decimal:
    return Decimal(str(value))


@pytest.mark.parametrize("name", sorted(FIELDS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_number_field_takes_plain_numbers_in_its_range(name, data):
    field = FIELDS[name]
    text, value = data.draw(plain_numbers(field))
    cleaned = field.clean(text)
    assert as_decimal(cleaned) == value, (name, text, cleaned)
    assert field.has_changed(None, text) in (True, False)


OTHER_SCRIPTS = {
    "Arabic-Indic": 0x0660,
    "Extended Arabic-Indic": 0x06F0,
    "Devanagari": 0x0966,
    "Bengali": 0x09E6,
    "Thai": 0x0E50,
    "full-width": 0xFF10,
}


@st.composite
def odd_numbers(draw) -> tuple[str, str]:
    """(an odd spelling of a number that Decimal, int or float reads, the words the
    refusal must hold)."""
    digits = draw(st.text(string.digits, min_size=2, max_size=6))
    kind = draw(
        st.sampled_from(["not a number", "underscore", "script", "superscript", "exponent"])
    )
    if kind == "not a number":
        word = draw(
            st.sampled_from(["sNaN", "NaN", "nan", "Infinity", "inf", "INF", "sNaN12", "NaN5"])
        )
        return draw(st.sampled_from(["", "-", "+"])) + word, "NaN and Infinity"
    if kind == "underscore":
        cut = draw(st.integers(1, len(digits) - 1))
        return f"{digits[:cut]}_{digits[cut:]}", "without underscores"
    if kind == "script":
        zero = OTHER_SCRIPTS[draw(st.sampled_from(sorted(OTHER_SCRIPTS)))]
        text = "".join(chr(zero + int(d)) for d in digits)
        return text, "digits 0 to 9"
    if kind == "superscript":
        return digits[:-1] + "²", "digits 0 to 9"
    mark = draw(st.sampled_from(["E+", "e", "E-", "e+"]))
    return f"{digits[0]}{mark}{len(digits)}", "without an exponent"


@pytest.mark.parametrize("name", sorted(FIELDS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd=odd_numbers(), initial=st.sampled_from([None, Decimal("5"), 5]))
def test_every_number_field_refuses_odd_spellings_saying_what_to_write(name, odd, initial):
    field = FIELDS[name]
    text, words = odd
    with pytest.raises(forms.ValidationError) as refused:
        field.clean(text)
    assert any(words in message for message in refused.value.messages), refused.value.messages
    assert field.has_changed(initial, text) is True  # sNaN: no InvalidOperation


@pytest.mark.parametrize("text", ["1,000", "1 000", "--5", "5-", "1.2.3", "0x10", "1" * 65])
def test_other_odd_numbers_are_refused_too(text):
    for name, field in FIELDS.items():
        with pytest.raises(forms.ValidationError):
            field.clean(text)
        assert field.has_changed(None, text) is True, name


# -- through the pages -------------------------------------------------------------------


@pytest.fixture
def superuser_client(client, django_user_model):
    instruments_seed()
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    return client


def risk_form(**changes) -> dict:
    config = risk_config_get()
    data = {"reason": "checking"}
    for name in EDITABLE_LIMITS:
        value = changes.get(name, getattr(config, name))
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list):
            data[name] = value
        else:
            data[name] = "" if value is None else str(value)
    return data


def unchanged(now, before) -> bool:
    if isinstance(before, int | float | Decimal) and not isinstance(before, bool):
        return now is not None and Decimal(str(now)) == Decimal(str(before))
    return now == before


RISK_DECIMALS = [
    "min_confidence_threshold",
    "max_lot_size",
    "default_lot_size",
    "max_risk_per_trade",
    "max_risk_pct_of_equity",
    "daily_profit_target",
    "max_daily_loss",
    "max_drawdown_amount",
]


@pytest.mark.django_db
@pytest.mark.parametrize("field", RISK_DECIMALS)
def test_snan_in_a_decimal_of_the_risk_form_is_a_form_error_not_a_500(superuser_client, field):
    before = getattr(risk_config_get(), field)
    response = superuser_client.post("/admin/desk/riskconfig/", risk_form(**{field: "sNaN"}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "NaN and Infinity are not numbers here" in html[html.index(f"field-{field}") :]
    assert unchanged(getattr(risk_config_get(), field), before)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "text", "words"),
    [
        ("max_concurrent_trades", "\u0661\u0662", "digits 0 to 9"),
        ("max_concurrent_trades", "1_0", "without underscores"),
        ("max_lot_size", "1E+2", "without an exponent"),
        ("max_daily_loss", "\u0661\u0662", "digits 0 to 9"),
        ("max_input_age_minutes", "1e1", "without an exponent"),
        ("currency", "ZZZ", "not an ISO 4217 currency code"),
        ("currency", "usdt", "not an ISO 4217 currency code"),
    ],
)
def test_the_risk_form_stores_no_odd_number_and_no_unknown_currency(
    superuser_client, field, text, words
):
    before = getattr(risk_config_get(), field)
    response = superuser_client.post("/admin/desk/riskconfig/", risk_form(**{field: text}))
    assert response.status_code == 200
    html = response.content.decode()
    assert words in html[html.index(f"field-{field}") :][:3000]
    assert unchanged(getattr(risk_config_get(), field), before)


@pytest.mark.django_db
def test_a_currency_in_lower_case_is_kept_in_capitals(superuser_client):
    response = superuser_client.post("/admin/desk/riskconfig/", risk_form(currency=" eur "))
    assert response.status_code in (200, 302)
    if response.status_code == 200:  # a change of currency is confirmed first
        assert "not an ISO 4217" not in response.content.decode()


ADD_PAGES = ["/admin/desk/strategy/add/", "/admin/journal/instrument/add/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ADD_PAGES)
@pytest.mark.parametrize("text", ["sNaN", "-Infinity", "\u0661\u0662", "1_0", "1E+2", "1,000", "²"])
def test_every_number_of_the_add_forms_refuses_odd_numbers_without_a_500(
    superuser_client, url, text
):
    page = superuser_client.get(url)
    assert page.status_code == 200
    names = [
        name
        for name, field in page.context["adminform"].form.fields.items()
        if isinstance(field, NUMBER_FIELDS)
    ]
    assert names
    response = superuser_client.post(url, dict.fromkeys(names, text))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(names) <= set(errors), (names, errors)


@pytest.mark.django_db
def test_an_instrument_is_quoted_in_an_iso_currency_or_a_coin_for_crypto(superuser_client):
    base = {
        "symbol": "XYZUSD",
        "name": "test",
        "is_active": "on",
        "tick_size": "0.01",
        "price_decimals": "2",
        "quantity_step": "1",
        "quantity_unit": "coins",
        "point_value": "1",
    }
    fx = superuser_client.post(
        "/admin/journal/instrument/add/", {**base, "asset_class": "fx", "quote_currency": "ZZZ"}
    )
    assert fx.status_code == 200 and "not an ISO 4217" in fx.content.decode()
    coin = superuser_client.post(
        "/admin/journal/instrument/add/",
        {**base, "asset_class": "crypto", "quote_currency": "usdt"},
    )
    assert coin.status_code == 302, coin.context["adminform"].form.errors
    from journal.models import Instrument

    assert Instrument.objects.get(symbol="XYZUSD").quote_currency == "USDT"


@pytest.mark.django_db
@pytest.mark.parametrize("current", ["²", "\u0661", "9" * 40, "1,2", " 3 "])
def test_the_alias_move_form_reads_only_a_plain_version_id(current):
    model = RegisteredModel.objects.create(name="m-odd")
    form = AliasMoveForm({"alias": "production", "current": current}, model=model)
    assert not form.is_valid()  # no version, and never a ValueError
    assert "current" in form.errors


@pytest.mark.django_db
def test_a_bulk_selection_with_odd_ids_is_no_500(superuser_client):
    for url in (
        "/admin/desk/tradeidea/reject-selected/?ids=1,²,\u0661,9999999999999999999999",
        "/admin/journal/trade/flag/?ids=1,²,\u0661",
    ):
        response = superuser_client.get(url)
        assert response.status_code < 500, (url, response.status_code)
