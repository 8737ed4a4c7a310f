"""One error body for every endpoint: a bad request to every operation of the schema.

For each operation of /api/schema/: no credentials (401), a key without the scope
(403), another Authorization scheme (401 with a hint), and a bad parameter or body (400)
where the operation takes one. Every answer of the API has {"detail", "code", "errors"};
the V2 and MLflow-shaped routes answer in their protocol's body, the one their operation
names (``x-error-body``). Every answer is documented by the schema; every 503 and 429
carries Retry-After. Only V2's two health probes take no credentials.
"""

from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from tests.openapi import api_schema, assert_documented

pytestmark = pytest.mark.django_db

BAD_BODY = b'{"not": "what any operation takes", "deep": ' + b"[" * 50 + b"]" * 50 + b"}"


def operations():
    for path, methods in api_schema()["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


# The orchestrators' probes of the Open Inference Protocol (serving.protocols.v2).
PUBLIC = {("/v2/health/live", "get"), ("/v2/health/ready", "get")}
MLFLOW_CODES = {"BAD_REQUEST", "UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_DOES_NOT_EXIST"}


def concrete(path: str) -> str:
    return (
        path.replace("{name}", "no-such-model")
        .replace("{version}", "1")
        .replace("{alias}", "production")
    )


def message(body: dict) -> str:
    """What the answer says is wrong, in whichever of the three bodies."""
    return body.get("detail") or body.get("error") or body["message"]


def assert_error_body(response, method, path, operation):
    body = response.json()
    kind = operation.get("x-error-body", "Error")
    if kind == "V2Error":
        assert set(body) == {"error"}, (method, path, body)
        assert isinstance(body["error"], str) and body["error"]
    elif kind == "MLflowError":
        assert set(body) == {"error_code", "message"}, (method, path, body)
        assert body["error_code"] in MLFLOW_CODES, (method, path, body)
        assert isinstance(body["message"], str) and body["message"]
    else:
        assert kind == "Error", (method, path, kind)
        assert set(body) == {"detail", "code", "errors"}, (method, path, body)
        assert isinstance(body["detail"], str) and body["detail"]
        assert isinstance(body["code"], str) and body["code"]
        for error in body["errors"]:
            assert {"field", "message"} <= set(error), error
    if response.status_code in (429, 503):
        assert response["Retry-After"]
    assert_documented(response, method, path)


@pytest.fixture
def scopeless(db):
    _, raw = api_key_create(name="no-scope-for-this", scopes="cache:admin")
    return APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw}")


def test_every_operation_refuses_in_the_one_body(scopeless):
    seen = 0
    public = set()
    protocols = set()
    for path, method, operation in operations():
        if not operation.get("security"):
            public.add((path, method))
            continue
        protocols.add(operation.get("x-error-body", "Error"))
        url = concrete(path)
        anonymous = getattr(APIClient(), method)(url)
        assert anonymous.status_code == 401, (method, path)
        assert_error_body(anonymous, method, path, operation)
        bearer = getattr(APIClient(HTTP_AUTHORIZATION="Bearer abc"), method)(url)
        assert bearer.status_code == 401
        assert "Api-Key" in message(bearer.json()), (method, path, bearer.content)
        assert_error_body(bearer, method, path, operation)
        if "cache" not in path:
            refused = getattr(scopeless, method)(url)
            assert refused.status_code == 403, (method, path, refused.content)
            assert_error_body(refused, method, path, operation)
        seen += 1
    assert seen >= 20
    assert public == PUBLIC, "only the health probes are open"
    assert protocols == {"Error", "V2Error", "MLflowError"}


def test_the_public_probes_answer_without_credentials():
    live = APIClient().get("/v2/health/live")
    assert live.status_code == 200 and live.json() == {"live": True}
    assert_documented(live, "get", "/v2/health/live")
    ready = APIClient().get("/v2/health/ready")
    assert ready.status_code in (200, 503), ready.content
    assert_documented(ready, "get", "/v2/health/ready")


def test_every_operation_with_input_names_what_is_wrong(db):
    _, raw = api_key_create(
        name="every-scope", scopes="trades:read,trades:write,ideas:write,predict,cache:admin"
    )
    client = APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    checked = 0
    for path, method, operation in operations():
        url = concrete(path)
        if "requestBody" in operation:
            response = client.generic(method.upper(), url, BAD_BODY, "application/json")
        elif any(p["in"] == "query" for p in operation.get("parameters", [])):
            name = next(p["name"] for p in operation["parameters"] if p["in"] == "query")
            query = urlencode({name: "\u00e9\x01not-valid", "since": "soon", "cursor": "x"})
            response = getattr(client, method)(f"{url}?{query}")
        else:
            continue
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
        assert_error_body(response, method, path, operation)
        checked += 1
    assert checked >= 11
