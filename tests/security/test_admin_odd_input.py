"""Odd filter values and a Redis outage in the admin: a 400 or a page, never a 500.

Reproductions of the issue: NUL in list-filter values, executed_to=9999-12-31, the
dashboard's until=9999-12-31, executed_at__year=-1, a watchlist nested 3,000 deep, and
the trade list, the dashboard and the export while Redis is down.
"""

import pytest
from django.core.cache import caches

from backoffice.core import cache_guard
from tests.admin.conftest import make_trades

pytestmark = pytest.mark.django_db

ODD_QUERIES = [
    "/admin/journal/trade/?symbol=%00",
    "/admin/journal/trade/?strategy=EUR%00USD",
    "/admin/journal/trade/?account=%00",
    "/admin/journal/trade/?side__exact=%00",
    "/admin/journal/trade/?review=%00",
    "/admin/journal/trade/?q=%00",
    "/admin/journal/trade/?executed_to=9999-12-31",
    "/admin/journal/trade/?executed_from=0001-01-01",
    "/admin/journal/trade/?executed_from=9999-12-31",
    "/admin/journal/trade/?executed_at__year=-1",
    "/admin/journal/trade/?executed_at__year=99999",
    "/admin/journal/trade/?o=%00",
    "/admin/journal/trade/?p=%00",
    "/admin/journal/trade/export.csv?symbol=%00",
    "/admin/journal/trade/export.csv?executed_to=9999-12-31",
    "/admin/journal/trade/dashboard/?until=9999-12-31",
    "/admin/journal/trade/dashboard/?since=0001-01-01&until=9999-12-31&period=custom",
    "/admin/journal/trade/dashboard/?symbol=%00",
    # issue 29: the list's new filters and sorts, the dashboard's filters and month
    "/admin/journal/trade/?side=%00",
    "/admin/journal/trade/?side=sideways",
    "/admin/journal/trade/?tag=%00",
    "/admin/journal/trade/?tag=" + "x" * 5000,
    "/admin/journal/trade/?mistake=a%2Cb",
    "/admin/journal/trade/?model_version=%00",
    "/admin/journal/trade/?model_version=" + "m" * 500,
    "/admin/journal/trade/?weekday=8",
    "/admin/journal/trade/?weekday=%00",
    "/admin/journal/trade/?hour=-1",
    "/admin/journal/trade/?hour=99999999999999999999",
    "/admin/journal/trade/?closed=%00",
    "/admin/journal/trade/?closed_from=9999-12-31",
    "/admin/journal/trade/?closed_to=0001-01-01",
    "/admin/journal/trade/?closed_from=2026-01-01&closed_to=2025-01-01",
    "/admin/journal/trade/?o=3",
    "/admin/journal/trade/?o=3.-4.5.6&executed=7d",
    "/admin/journal/trade/?o=99999999999999999999",
    "/admin/journal/trade/?o=-3&closed_from=2026-06-01&closed_to=2026-06-01",
    "/admin/journal/trade/dashboard/?side=%00",
    "/admin/journal/trade/dashboard/?tag=%00",
    "/admin/journal/trade/dashboard/?tag=" + "y" * 5000,
    "/admin/journal/trade/dashboard/?mistake=a%2Cb",
    "/admin/journal/trade/dashboard/?grade=Z",
    "/admin/journal/trade/dashboard/?model_version=%00",
    "/admin/journal/trade/dashboard/?model_version=" + "m" * 500,
    "/admin/journal/trade/dashboard/?month=%00",
    "/admin/journal/trade/dashboard/?month=9999-12",
    "/admin/journal/trade/dashboard/?month=2026-13",
    "/admin/journal/trade/dashboard/?month=-1-01",
    "/admin/journal/trade/dashboard/?period=week&tag=Chased&side=long&grade=__none__",
    "/admin/journal/trade/1/change/",
    "/admin/desk/tradeidea/?symbol=%00",
    "/admin/desk/tradeidea/?q=%00",
    "/admin/desk/decision/?occurred_at__year=-1",
    "/admin/desk/decision/?q=%00",
    "/admin/models_registry/modelversion/?q=%00",
    "/admin/apikeys/apikey/?q=%00",
    "/admin/journal/quarantinedline/?q=%00",
]


@pytest.fixture
def superuser_client(client, django_user_model):
    make_trades(3)
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    return client


@pytest.mark.parametrize("url", ODD_QUERIES)
def test_odd_filter_values_are_a_400_or_a_page_never_a_500(superuser_client, url):
    response = superuser_client.get(url)
    assert response.status_code in (200, 302, 400), (url, response.status_code)
    if response.status_code == 302:  # Django's "?e=1": the list with an error note
        assert superuser_client.get(response["Location"]).status_code in (200, 400)


def test_a_watchlist_nested_3000_deep_is_a_form_error(superuser_client):
    from desk.services import risk_config_get

    risk_config_get()
    url = "/admin/desk/riskconfig/"
    page = superuser_client.get(url)
    assert page.status_code == 200
    data = {
        "ai_trading_enabled": "",
        "min_confidence_threshold": "0.7",
        "max_lot_size": "1",
        "max_concurrent_trades": "3",
        "daily_profit_target": "500",
        "stop_after_target": "on",
        "max_drawdown_amount": "1000",
        "halt_on_drawdown": "on",
        "watchlist": "[" * 3000 + "]" * 3000,
        "reason": "a test",
    }
    response = superuser_client.post(url, data)
    assert response.status_code in (200, 400)
    assert b"is no instrument of the desk" in response.content


@pytest.fixture
def redis_down(settings):
    """The default cache points at a port nothing listens on (a stopped Redis)."""
    from tests.harness.services import free_port

    port = free_port()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    # Django's setting_changed handler dropped the cache connections made before.
    assert caches["default"]._cache._servers == [f"redis://127.0.0.1:{port}/0"]
    cache_guard.guard.reset()
    yield
    cache_guard.guard.reset()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/journal/trade/",
        "/admin/journal/trade/?symbol=EURUSD",
        "/admin/journal/trade/dashboard/",
        "/admin/journal/trade/export.csv",
    ],
)
def test_admin_pages_work_while_redis_is_down(superuser_client, redis_down, url):
    response = superuser_client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def test_every_admin_of_the_project_takes_the_safe_base():
    from django.contrib import admin

    from backoffice.core.admin_site import ModelAdmin

    ours = {
        model: model_admin
        for model, model_admin in admin.site._registry.items()
        if not model._meta.app_label.startswith(("auth", "contenttypes", "sessions"))
    }
    assert ours
    assert all(isinstance(model_admin, ModelAdmin) for model_admin in ours.values()), [
        type(a).__name__ for a in ours.values() if not isinstance(a, ModelAdmin)
    ]


def test_a_bad_filter_page_names_the_value_and_offers_the_plain_list(superuser_client):
    response = superuser_client.get("/admin/journal/trade/?executed_to=9999-12-31")
    assert response.status_code == 400
    assert b"1990 to 2100" in response.content
    assert b'href="/admin/journal/trade/"' in response.content


def test_nul_in_an_api_filter_is_a_json_400_naming_it(client):
    response = client.get("/api/v1/trades?strategy=a%00b")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "strategy", "message": "must not contain a NUL character"}
    ]


def test_the_api_docs_script_with_the_csrf_token_is_for_this_origin_only(client):
    for url in ("/api/docs/", "/api/docs/?script"):
        assert client.get(url)["Cross-Origin-Resource-Policy"] == "same-origin"


def test_a_nul_refusal_page_is_not_sniffed(client):
    response = client.get("/admin/journal/trade/?q=%00")
    assert response.status_code == 400
    assert response["X-Content-Type-Options"] == "nosniff"
