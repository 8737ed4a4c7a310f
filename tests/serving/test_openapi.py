"""The OpenAPI schema documents the registry and serving endpoints accurately."""

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from serving.protocols.schemas import MLFLOW_TAG, V2_TAG

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


# The orchestrators' probes of the Open Inference Protocol: no credentials.
PUBLIC = {("get", "/v2/health/live"), ("get", "/v2/health/ready")}


def test_every_authenticated_operation_documents_the_authentication_answers(
    schema_and_warnings,
):
    schema, _ = schema_and_warnings
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if (method, path) in PUBLIC:
                assert not operation.get("security"), (method, path)
                assert not {"401", "403", "429"} & set(operation["responses"]), (method, path)
                continue
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


# -- the V2 and MLflow-shaped routes -------------------------------------------------------

V2_OPERATIONS = {
    ("get", "/v2"),
    ("get", "/v2/health/live"),
    ("get", "/v2/health/ready"),
    ("get", "/v2/models/{name}"),
    ("get", "/v2/models/{name}/ready"),
    ("post", "/v2/models/{name}/infer"),
    ("get", "/v2/models/{name}/versions/{version}"),
    ("get", "/v2/models/{name}/versions/{version}/ready"),
    ("post", "/v2/models/{name}/versions/{version}/infer"),
}
INVOCATIONS = ("post", "/api/v1/models/{name}/invocations")


def error_schema(operation: dict, code: str) -> str:
    return operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]


def test_every_v2_operation_is_documented_tagged_with_its_own_error_body(schema_and_warnings):
    schema, _ = schema_and_warnings
    documented = {
        (method, path)
        for path, operations in schema["paths"].items()
        for method in operations
        if path == "/v2" or path.startswith("/v2/")
    }
    assert documented == V2_OPERATIONS
    for method, path in V2_OPERATIONS:
        operation = schema["paths"][path][method]
        assert operation["tags"] == [V2_TAG], path
        for code in operation["responses"]:
            if code[0] in "45" and code != "414" and path != "/v2/health/ready":
                assert error_schema(operation, code).endswith("/V2Error"), (path, code)
    ready = schema["paths"]["/v2/health/ready"]["get"]["responses"]["503"]
    assert ready["content"]["application/json"]["schema"]["$ref"].endswith("/V2Ready")
    assert schema["components"]["schemas"]["V2Error"]["required"] == ["error"]


def test_infer_documents_its_tensors_json_and_binary_answers(schema_and_warnings):
    schema, _ = schema_and_warnings
    infer = schema["paths"]["/v2/models/{name}/versions/{version}/infer"]["post"]
    assert {p["name"] for p in infer["parameters"]} == {
        "name",
        "version",
        "Inference-Header-Content-Length",
    }
    body = infer["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/V2InferRequest")
    assert set(body["examples"]) == {"OneRowAsTheInputMatrix", "OneTensorPerFeature"}
    answers = infer["responses"]["200"]["content"]
    assert answers["application/json"]["schema"]["$ref"].endswith("/V2InferResponse")
    assert answers["application/octet-stream"]["schema"]["format"] == "binary"
    assert {"200", "400", "404", "413", "503"} <= set(infer["responses"])
    assert "415" not in infer["responses"], "infer reads any content type"
    tensor = schema["components"]["schemas"]["V2InputTensor"]
    assert tensor["properties"]["datatype"]["$ref"].endswith("/V2DatatypeEnum")


def test_invocations_documents_mlflows_bodies_answer_and_errors(schema_and_warnings):
    schema, _ = schema_and_warnings
    method, path = INVOCATIONS
    operation = schema["paths"][path][method]
    assert operation["tags"] == [MLFLOW_TAG]
    content = operation["requestBody"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    forms = [form["title"] for form in content["application/json"]["schema"]["oneOf"]]
    assert forms == ["dataframe_split", "dataframe_records", "instances", "inputs"]
    assert set(content["application/json"]["examples"]) >= {"DataframeSplit", "Instances"}
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/MLflowPredictions")
    for code in ("400", "401", "403", "404", "413", "415", "429", "503"):
        assert error_schema(operation, code).endswith("/MLflowError"), code
    assert {p["name"] for p in operation["parameters"]} == {"name", "alias", "version"}


@pytest.fixture
def demo_models(db, settings, tmp_path):
    """The demo's models, as `manage.py demo` registers them (the examples name them)."""
    from models_registry import demo

    settings.MODEL_STORAGE_DIR = tmp_path / "models"
    demo.seed()


def example_requests(schema: dict):
    """(method, template, url, body, content type) for every documented request example,
    with every documented example of every path parameter."""
    import itertools
    import json

    for (method, template), media in (
        *(((m, p), "application/json") for m, p in V2_OPERATIONS),
        (INVOCATIONS, "application/json"),
        (INVOCATIONS, "text/csv"),
    ):
        operation = schema["paths"][template][method]
        path_examples = {
            p["name"]: [e["value"] for e in p["examples"].values()]
            for p in operation.get("parameters", [])
            if p["in"] == "path"
        }
        content = operation.get("requestBody", {}).get("content", {}).get(media)
        if content is None:
            bodies = [None]
        elif media == "text/csv":
            bodies = [content["schema"]["example"]]
        else:
            bodies = [json.dumps(e["value"]) for e in content["examples"].values()]
        names = sorted(path_examples)
        for values in itertools.product(*(path_examples[n] for n in names)):
            url = template
            for name, value in zip(names, values, strict=True):
                url = url.replace("{" + name + "}", value)
            for body in bodies:
                yield method, template, url, body, media


def test_every_documented_example_answers_200_against_the_demo_models(
    bot, demo_models, schema_and_warnings
):
    from tests.openapi import assert_documented

    schema, _ = schema_and_warnings
    sent = 0
    for method, template, url, body, media in example_requests(schema):
        if body is None:
            response = bot.generic(method.upper(), url)
        else:
            response = bot.generic(method.upper(), url, body, content_type=media)
        assert response.status_code == 200, (url, body, response.content[:300])
        assert_documented(response, method, template)
        sent += 1
    assert sent >= 30, "every operation, both demo models, each example"


def test_real_protocol_errors_match_the_schema(client, bot, reader, xgb):
    """Each answer in its protocol's body, with a status the operation documents."""
    from tests.openapi import assert_documented

    infer = "/v2/models/{name}/infer"
    rows = {
        "inputs": [{"name": "input__0", "datatype": "FP64", "shape": [1, 5], "data": [1.0] * 5}]
    }
    cases = [
        (client.post("/v2/models/edge-xgb/infer", {}, format="json"), "post", infer, 401),
        (reader.post("/v2/models/edge-xgb/infer", {}, format="json"), "post", infer, 403),
        (bot.post("/v2/models/ghost/infer", rows, format="json"), "post", infer, 404),
        (bot.post("/v2/models/edge-xgb/infer", {"inputs": []}, format="json"), "post", infer, 400),
        (
            bot.get("/v2/models/edge-xgb/versions/a%20b"),
            "get",
            "/v2/models/{name}/versions/{version}",
            400,
        ),
        (
            bot.generic("POST", "/api/v1/models/edge-xgb/invocations", "x", "text/plain"),
            *INVOCATIONS,
            415,
        ),
        (
            bot.post("/api/v1/models/edge-xgb/invocations", {"instances": 1}, format="json"),
            *INVOCATIONS,
            400,
        ),
        (
            bot.post("/api/v1/models/no%20slug/invocations", {}, format="json"),
            *INVOCATIONS,
            404,
        ),
    ]
    for response, method, template, status in cases:
        assert response.status_code == status, (template, response.content)
        assert_documented(response, method, template)
    mlflow = cases[-1][0].json()
    assert mlflow == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "no such model (names are slugs)",
    }
