"""Staff sessions on the protocols' predict routes (issue 26, item 10): V2 infer and
MLflow's invocations answered 415 to every session, with or without the permission (a
Reviewer got 415 instead of 403).

The sessions here are a browser's: the CSRF check is on (the test clients of the other
tests skip it), the token travels in the ``X-CSRFToken`` header with its cookie, as for
every JSON call of the API. Personas as in tests/security/test_api_permissions.py.
"""

import json

import pytest
from django.contrib.auth.models import Group
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from models_registry.services import model_register
from tests.models_registry import factories
from tests.security.test_api_permissions import run_group_migrations

pytestmark = pytest.mark.django_db

MODEL = "session-xgb"
PERMISSION = "models_registry.view_modelversion"
ROW = [61.2, 0.35, 0.8, 0.72, 1.2]
# (route, content type, body, where the protocol's error body puts its message)
ROUTES = {
    "v2 infer": (
        f"/v2/models/{MODEL}/infer",
        "application/json",
        json.dumps(
            {"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [1, 5], "data": ROW}]}
        ),
        "error",
    ),
    "v2 version infer": (
        f"/v2/models/{MODEL}/versions/1/infer",
        "application/json",
        json.dumps(
            {"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [1, 5], "data": ROW}]}
        ),
        "error",
    ),
    "invocations json": (
        f"/api/v1/models/{MODEL}/invocations",
        "application/json",
        json.dumps({"inputs": [ROW]}),
        "message",
    ),
    "invocations csv": (
        f"/api/v1/models/{MODEL}/invocations",
        "text/csv",
        "rsi_14,macd_hist,atr_pct,trend_strength,spread_bps\n" + ",".join(map(str, ROW)),
        "message",
    ),
    "predict": (
        f"/api/v1/models/{MODEL}/predict",
        "application/json",
        json.dumps({"inputs": [ROW]}),
        "detail",
    ),
}
# Who may predict with a session: the superuser and the Model manager group.
PERSONAS = {
    "superuser": True,
    "Model manager": True,
    "Reviewer": False,
    "Risk manager": False,
    "Operator": False,
    "staff without a group": False,
}


@pytest.fixture
def served(db, settings):
    settings.SERVING_PREDICT_RATE = "off"
    trained = factories.xgboost_model()
    model_register(data=trained.data, filename=trained.filename, name=MODEL, alias="production")


def browser(django_user_model, persona: str) -> tuple[Client, str]:
    """A logged-in browser session of ``persona`` with its CSRF cookie, and the token."""
    run_group_migrations()
    user = django_user_model.objects.create_user(
        persona.replace(" ", "-"), is_staff=True, is_superuser=persona == "superuser"
    )
    if persona in {"Model manager", "Reviewer", "Risk manager", "Operator"}:
        user.groups.add(Group.objects.get(name=persona))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    return client, token


def post(client: Client, route: str, token: str | None):
    path, content_type, body, _ = ROUTES[route]
    headers = {"HTTP_X_CSRFTOKEN": token} if token else {}
    return client.generic("POST", path, body, content_type=content_type, **headers)


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("persona", list(PERSONAS))
def test_a_session_predicts_with_the_permission_and_is_told_what_it_lacks_without(
    served, django_user_model, persona, route
):
    client, token = browser(django_user_model, persona)
    response = post(client, route, token)
    key = ROUTES[route][3]
    if PERSONAS[persona]:
        assert response.status_code == 200, response.content
        return
    assert response.status_code == 403, response.content
    message = response.json()[key]
    assert PERMISSION in message and "'predict'" in message, message


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_session_without_the_csrf_token_is_refused_in_the_protocols_body(
    served, django_user_model, route
):
    client, _ = browser(django_user_model, "Model manager")
    response = post(client, route, None)
    assert response.status_code == 403, response.content
    assert "CSRF Failed" in response.json()[ROUTES[route][3]]


def test_a_form_post_from_another_site_is_refused_without_reading_its_body(
    served, django_user_model
):
    """A cross-site HTML form can send a session's cookie, not its CSRF header."""
    client, _ = browser(django_user_model, "Model manager")
    for path in (f"/v2/models/{MODEL}/infer", f"/api/v1/models/{MODEL}/invocations"):
        response = client.post(path, {"inputs": "1"})  # application/x-www-form-urlencoded
        assert response.status_code == 403, (path, response.content)
        assert "CSRF Failed" in response.content.decode()
