"""Every API operation x every persona, against a table of expected answers.

A staff session may do through the API exactly what its model permissions allow in the
admin (issue: a Reviewer's session recorded trades, submitted ideas that were
auto-executed in its name and evicted the caches). API keys may do what their scopes
allow. "ok" means the operation ran (any answer but 401 and 403: a 400 for the dummy
body of an allowed call is fine); 401 and 403 are the refusals.
"""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from apikeys.services import api_key_create, api_key_revoke
from models_registry.services import model_register
from tests.journal.conftest import trade_data
from tests.models_registry import factories

pytestmark = pytest.mark.django_db

MODEL = "perm-xgb"
V2_BODY = {"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP64", "data": [1.0]}]}
# (name, method, path, body, key scopes that may, model permission a session needs)
OPERATIONS = [
    ("trades.create", "post", "/api/v1/trades", "trade", ("trades:write",), "journal.add_trade"),
    ("trades.list", "get", "/api/v1/trades", None, ("trades:read",), "journal.view_trade"),
    ("metrics", "get", "/api/v1/metrics", None, ("trades:read",), "journal.view_trade"),
    ("positions", "get", "/api/v1/positions", None, ("trades:read",), "journal.view_trade"),
    (
        "ideas.create",
        "post",
        "/api/v1/trade-ideas",
        {"symbol": "EURUSD", "direction": "long", "entry_price": "1.1", "confidence_score": "0.5"},
        ("ideas:write",),
        "desk.add_tradeidea",
    ),
    (
        "ideas.list",
        "get",
        "/api/v1/trade-ideas",
        None,
        ("ideas:write", "trades:read"),
        "desk.view_tradeidea",
    ),
    (
        "decisions.list",
        "get",
        "/api/v1/decisions",
        None,
        ("ideas:write", "trades:read"),
        "desk.view_decision",
    ),
    (
        "models.list",
        "get",
        "/api/v1/models",
        None,
        ("predict",),
        "models_registry.view_registeredmodel",
    ),
    (
        "models.detail",
        "get",
        f"/api/v1/models/{MODEL}",
        None,
        ("predict",),
        "models_registry.view_registeredmodel",
    ),
    (
        "models.performance",
        "get",
        f"/api/v1/models/{MODEL}/versions/1/performance",
        None,
        ("trades:read", "predict"),
        "models_registry.view_modelversion",
    ),
    (
        "predict",
        "post",
        f"/api/v1/models/{MODEL}/predict",
        {"inputs": [[1, 2, 3, 4, 5]]},
        ("predict",),
        "models_registry.view_modelversion",
    ),
    (
        "invocations",
        "post",
        f"/api/v1/models/{MODEL}/invocations",
        {"inputs": [[1, 2, 3, 4, 5]]},
        ("predict",),
        "models_registry.view_modelversion",
    ),
    (
        "v2.metadata",
        "get",
        f"/v2/models/{MODEL}",
        None,
        ("predict",),
        "models_registry.view_modelversion",
    ),
    (
        "v2.infer",
        "post",
        f"/v2/models/{MODEL}/infer",
        V2_BODY,
        ("predict",),
        "models_registry.view_modelversion",
    ),
    (
        "v2.server",
        "get",
        "/v2",
        None,
        ("predict",),
        "models_registry.view_modelversion",
    ),
    (
        "v2.ready",
        "get",
        f"/v2/models/{MODEL}/ready",
        None,
        ("predict",),
        "models_registry.view_modelversion",
    ),
    (
        "v2.version",
        "get",
        f"/v2/models/{MODEL}/versions/1",
        None,
        ("predict",),
        "models_registry.view_modelversion",
    ),
    (
        "v2.version.ready",
        "get",
        f"/v2/models/{MODEL}/versions/1/ready",
        None,
        ("predict",),
        "models_registry.view_modelversion",
    ),
    (
        "v2.version.infer",
        "post",
        f"/v2/models/{MODEL}/versions/1/infer",
        V2_BODY,
        ("predict",),
        "models_registry.view_modelversion",
    ),
    (
        "challenger.get",
        "get",
        f"/api/v1/models/{MODEL}/aliases/production/challenger",
        None,
        ("trades:read", "predict"),
        "models_registry.view_modelversion",
    ),
    (
        "challenger.set",
        "put",
        f"/api/v1/models/{MODEL}/aliases/production/challenger",
        {},
        (),
        "models_registry.change_modelalias",
    ),
    (
        "challenger.remove",
        "delete",
        f"/api/v1/models/{MODEL}/aliases/production/challenger",
        None,
        (),
        "models_registry.change_modelalias",
    ),
    (
        "challenger.promote",
        "post",
        f"/api/v1/models/{MODEL}/aliases/production/challenger/promote",
        {},
        (),
        "models_registry.change_modelalias",
    ),
    (
        "alias.rollback",
        "post",
        f"/api/v1/models/{MODEL}/aliases/production/rollback",
        {},
        (),
        "models_registry.change_modelalias",
    ),
    (
        "cache.get",
        "get",
        "/api/v1/cache",
        None,
        ("cache:admin",),
        "models_registry.change_modelalias",
    ),
    (
        "cache.warm",
        "post",
        "/api/v1/cache",
        {},
        ("cache:admin",),
        "models_registry.change_modelalias",
    ),
    (
        "cache.evict",
        "delete",
        "/api/v1/cache",
        None,
        ("cache:admin",),
        "models_registry.change_modelalias",
    ),
]
SCOPES = ["trades:read", "trades:write", "ideas:write", "predict", "cache:admin"]
# The groups' own reach, written out (not derived from the permissions under test).
GROUP_REACH = {
    # Whoever may read trades reads the open positions too (journal.view_trade).
    "Reviewer": {"trades.list", "metrics", "positions"},
    "Risk manager": {"trades.list", "metrics", "positions", "ideas.list", "decisions.list"},
    "Operator": {"trades.list", "metrics", "positions"},
    "Model manager": {
        "models.list",
        "models.detail",
        "models.performance",
        "predict",
        "invocations",
        "v2.metadata",
        "v2.infer",
        "v2.server",
        "v2.ready",
        "v2.version",
        "v2.version.ready",
        "v2.version.infer",
        "challenger.get",
        "challenger.set",
        "challenger.remove",
        "challenger.promote",
        "alias.rollback",
        "cache.get",
        "cache.warm",
        "cache.evict",
    },
}
ALL = {op[0] for op in OPERATIONS}


def expected() -> dict[str, dict[str, object]]:
    """persona -> operation -> "ok", 401 or 403."""
    table: dict[str, dict[str, object]] = {}
    table["superuser"] = dict.fromkeys(ALL, "ok")
    for group, reach in GROUP_REACH.items():
        table[group] = {op: "ok" if op in reach else 403 for op in ALL}
    table["staff without a group"] = dict.fromkeys(ALL, 403)
    table["non-staff user"] = dict.fromkeys(ALL, 403)
    for scope in SCOPES:
        table[f"key {scope}"] = {op[0]: "ok" if scope in op[4] else 403 for op in OPERATIONS}
    table["revoked key"] = dict.fromkeys(ALL, 401)
    table["no credentials"] = dict.fromkeys(ALL, 401)
    return table


def run_group_migrations() -> None:
    """The data migrations that make the groups (again: a flushed test database has none)."""
    loader = MigrationLoader(connection)
    editor = SimpleNamespace(connection=connection)
    for app, name, function in [
        ("journal", "0003_groups", "create_groups"),
        ("journal", "0006_operator_group", "create_group"),
        ("desk", "0003_risk_manager_permissions", "grant"),
        ("models_registry", "0002_model_manager_permissions", "grant"),
    ]:
        module = import_module(f"{app}.migrations.{name}")
        getattr(module, function)(loader.project_state((app, name)).apps, editor)


@pytest.fixture
def personas(django_user_model, settings):
    settings.SERVING_PREDICT_RATE = "off"
    # The revoked key fails once per operation: more than the address's failure limit.
    settings.API_KEY_MAX_FAILURES = 1000
    run_group_migrations()
    trained = factories.xgboost_model()
    model_register(data=trained.data, filename=trained.filename, name=MODEL, alias="production")
    clients: dict[str, APIClient] = {}

    def session(name, **flags):
        user = django_user_model.objects.create_user(name.replace(" ", "-"), password="x", **flags)
        client = APIClient()
        client.force_login(user)
        clients[name] = client
        return user

    session("superuser", is_staff=True, is_superuser=True)
    for group in GROUP_REACH:
        session(group, is_staff=True).groups.add(Group.objects.get(name=group))
    session("staff without a group", is_staff=True)
    session("non-staff user")
    for scope in SCOPES:
        _, raw = api_key_create(name=f"key-{scope}", scopes=scope)
        clients[f"key {scope}"] = APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    key, raw = api_key_create(name="revoked", scopes=SCOPES)
    api_key_revoke(key=ApiKey.objects.get(pk=key.pk))
    clients["revoked key"] = APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    clients["no credentials"] = APIClient()
    return clients


def test_every_persona_gets_exactly_its_reach_on_every_operation(personas):
    table = expected()
    answers: dict[str, dict[str, object]] = {}
    for persona, client in personas.items():
        answers[persona] = {}
        for name, method, path, body, _scopes, _perm in OPERATIONS:
            if body == "trade":
                body = trade_data()
            response = getattr(client, method)(path, body, format="json")
            status = response.status_code
            answers[persona][name] = status if status in (401, 403) else "ok"
            assert status < 500, (persona, name, status, response.content[:200])
    wrong = {
        (persona, op): (answers[persona][op], want)
        for persona, row in table.items()
        for op, want in row.items()
        if answers[persona][op] != want
    }
    assert not wrong, f"(persona, operation): (answer, expected): {wrong}"


def test_a_refused_session_is_told_which_permission_it_lacks(personas):
    response = personas["Reviewer"].post("/api/v1/trades", trade_data(), format="json")
    assert response.status_code == 403
    assert "journal.add_trade" in response.json()["detail"]


# Operations every caller reaches (liveness and readiness probes, the schema itself).
PUBLIC = {("get", "/v2/health/live"), ("get", "/v2/health/ready")}


def test_the_table_names_every_operation_of_the_schema():
    """A new endpoint joins the table above, or this fails: the walk covers every
    operation of the OpenAPI schema, not those we remembered."""
    import re

    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    covered = [
        (method, re.compile(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"))
        for template, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    in_table = {(method, path) for _, method, path, *_ in OPERATIONS}
    missing = [
        (method, pattern.pattern)
        for method, pattern in covered
        if not any(m == method and pattern.match(path) for m, path in in_table)
        and not any(m == method and pattern.match(path) for m, path in PUBLIC)
    ]
    assert missing == [], f"operations the persona table does not walk: {missing}"
