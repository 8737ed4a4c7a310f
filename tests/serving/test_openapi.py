"""The OpenAPI schema documents the registry and serving endpoints accurately."""

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture(scope="module")
def schema_and_warnings():
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    warnings = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    return schema, warnings


def test_the_predict_operation_has_its_request_answer_and_errors(schema_and_warnings):
    schema, _ = schema_and_warnings
    operation = schema["paths"]["/api/v1/models/{name}/predict"]["post"]
    assert {p["name"] for p in operation["parameters"]} >= {"name", "alias", "version"}
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert request.endswith("/PredictRequest")
    assert {"200", "400", "401", "403", "404", "413", "429", "503"} <= set(operation["responses"])
    answer = schema["components"]["schemas"]["PredictResponse"]
    assert set(answer["properties"]) == {
        "model",
        "version",
        "alias",
        "predictions",
        "cached",
        "prediction_ids",
        "served_by",
    }
    assert "canary" in answer["properties"]["served_by"]["description"]
    assert "served_by" not in answer.get("required", [])
    assert "trade idea" in answer["properties"]["prediction_ids"]["description"]
    assert "X-Prediction-Id" in operation["responses"]["200"]["headers"]
    assert {"ApiKeyAuth": []} in operation["security"]


def test_the_models_and_cache_operations_are_documented(schema_and_warnings):
    schema, _ = schema_and_warnings
    paths = schema["paths"]
    assert "get" in paths["/api/v1/models"] and "get" in paths["/api/v1/models/{name}"]
    assert {"get", "post", "delete"} <= set(paths["/api/v1/cache"])
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]
    assert (scheme["type"], scheme["name"]) == ("apiKey", "Authorization")


def test_the_generator_has_no_complaint_about_these_views(schema_and_warnings):
    _, warnings = schema_and_warnings
    ours = [w for w in warnings if "serving" in w or "models_registry" in w]
    assert ours == []


def test_every_operation_documents_gunicorns_414(schema_and_warnings):
    # Found by the long schemathesis run: a 5 kB query string got gunicorn's own 414 page.
    schema, _ = schema_and_warnings
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "text/html" in operation["responses"]["414"]["content"], (method, path)


def test_every_authenticated_operation_documents_the_authentication_answers(
    schema_and_warnings,
):
    schema, _ = schema_and_warnings
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation["security"], (method, path)
            for code in ("401", "403", "429", "503"):
                assert code in operation["responses"], (method, path, code)


def test_real_authentication_answers_match_the_schema(client, settings):
    from django.core.cache import cache

    from tests.openapi import assert_documented

    cache.clear()
    settings.API_KEY_MAX_FAILURES = 2
    bad = {"HTTP_AUTHORIZATION": "Api-Key not-a-key", "REMOTE_ADDR": "10.9.9.9"}
    for _ in range(2):
        refused = client.get("/api/v1/trades", **bad)
        assert refused.status_code == 401
        assert_documented(refused, "get", "/api/v1/trades")
    throttled = client.get("/api/v1/metrics", **bad)
    assert throttled.status_code == 429
    assert_documented(throttled, "get", "/api/v1/metrics")
    anonymous = client.post("/api/v1/trades", {}, content_type="application/json")
    assert anonymous.status_code in (401, 403)
    assert_documented(anonymous, "post", "/api/v1/trades")
    cache.clear()
