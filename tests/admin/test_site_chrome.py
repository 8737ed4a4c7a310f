"""What every admin page shares: "View site" opens the dashboard, a favicon (and no 404
for /favicon.ico), one date-time style said once, and numbers a trader reads."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from apikeys.models import ApiKey
from apikeys.services import api_key_create
from backoffice.core import formatting

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_view_site_opens_the_dashboard_for_those_who_may_read_it(
    reviewer_client, client, model_manager
):
    html = reviewer_client.get("/admin/").content.decode()
    assert '<a href="/admin/journal/trade/dashboard/">View site</a>' in html
    client.force_login(model_manager)  # no trades to read: no link to a 403
    assert "View site" not in client.get("/admin/").content.decode()


@pytest.mark.smoke
def test_every_page_links_the_favicon_and_favicon_ico_finds_it(reviewer_client, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    html = reviewer_client.get("/admin/").content.decode()
    assert '<link rel="icon" href="/static/backoffice/favicon.ico"' in html
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/backoffice/favicon.ico"
    icon = Client().get(response["Location"])
    assert icon.status_code == 200
    content = b"".join(icon.streaming_content) if icon.streaming else icon.content
    assert content[:4] == b"\x00\x00\x01\x00"  # an ICO file


@pytest.mark.smoke
def test_dates_on_any_admin_page_are_utc_24_hours_iso(client, django_user_model):
    superuser = django_user_model.objects.create_superuser("sam", password="pw-sam-12345")
    client.force_login(superuser)
    key, _ = api_key_create(name="bot-clock", scopes="trades:read")
    afternoon = datetime(2026, 11, 27, 19, 5, tzinfo=UTC)
    ApiKey.objects.filter(pk=key.pk).update(created_at=afternoon, last_used_at=afternoon)
    html = client.get("/admin/apikeys/apikey/").content.decode()
    assert "2026-11-27 19:05" in html
    assert "Nov. 27" not in html and "p.m." not in html
    page = client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert "2026-11-27 19:05" in page
    user_page = client.get(f"/admin/auth/user/{superuser.pk}/change/").content.decode()
    # The date inputs are filled and read as yyyy-mm-dd.
    assert f'value="{superuser.date_joined:%Y-%m-%d}"' in user_page


def test_the_formatting_helpers_read_as_a_trader_writes():
    assert formatting.money(Decimal("1234.5"), "USD") == "+1,234.50 USD"
    assert formatting.money(Decimal("-1234.5"), "USD") == "-1,234.50 USD"
    assert formatting.money(Decimal("20000"), "USD", signed=False) == "20,000.00 USD"
    assert formatting.money(Decimal("-12300.4"), "JPY") == "-12,300 JPY"
    assert formatting.quantity(Decimal("0.50000000"), "lots") == "0.5 lots"
    assert formatting.quantity(Decimal("1.00000000"), "lots") == "1 lot"
    assert formatting.plain(Decimal("20000.00000000")) == "20,000"
    # A zero as a numeric(20, 8) column returns it: "0", not "0.0000000".
    assert formatting.plain(Decimal("0E-8")) == "0"
    assert formatting.quantity(Decimal("0E-8")) == "0"
    assert formatting.when(datetime(2026, 11, 27, 7, 0, tzinfo=UTC)) == "2026-11-27 07:00"
    assert formatting.age(timedelta(minutes=12, seconds=40)) == "12 min"
    assert formatting.age(timedelta(hours=3, minutes=5)) == "3 h 05 min"
    assert formatting.age(timedelta(days=2, hours=4)) == "2 d 4 h"
    huge = Decimal("9" * 40)
    assert formatting.plain(huge).startswith("9,999")  # never an error on a page
