"""The API's documentation teaches a bot developer alone: an introduction (auth, the
error body, pagination, idempotency, the spool's 202, a quick start), operations
grouped by area, no internal notes, and examples that work against the demo models."""

import re
import shlex

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from backoffice.core.api.schema import TAGS, tag_of

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def texts(node, where=""):
    """Every description, summary and example text of the schema, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary", "title", "example") and isinstance(value, str):
                yield f"{where}.{key}", value
            else:
                yield from texts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for n, item in enumerate(node):
            yield from texts(item, f"{where}[{n}]")


def test_the_introduction_covers_what_a_bot_developer_needs_first(schema):
    intro = schema["info"]["description"]
    for heading in ("## Quick start", "## Authentication", "## Errors", "## Pagination"):
        assert heading in intro
    assert "Authorization: Api-Key <key>" in intro
    assert '"detail"' in intro and '"code"' in intro and '"errors"' in intro
    assert "cursor" in intro and "`next`" in intro
    assert "sending it again is safe and stores nothing twice" in intro
    assert '202 {"spooled": n}' in intro


def test_operations_are_grouped_by_area_in_a_readers_order(schema):
    assert [tag["name"] for tag in schema["tags"]] == [name for name, _, _ in TAGS]
    assert all(tag["description"].endswith(".") for tag in schema["tags"])
    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert len(operation["tags"]) == 1, (method, path)
            found.setdefault(operation["tags"][0], set()).add(f"{method} {path}")
    assert set(found) == {name for name, _, _ in TAGS}  # no empty area, no stray tag
    assert "post /api/v1/trades" in found["Trades"]
    assert "post /api/v1/models/{name}/predict" in found["Models and predictions"]
    assert "get /api/v1/decisions" in found["Trade ideas"]
    assert "post /api/v1/models/{name}/invocations" in found["MLflow scoring protocol"]
    assert "post /v2/models/{name}/infer" in found["Open Inference Protocol (V2)"]


def test_an_area_is_found_by_its_longest_prefix_and_nothing_else():
    assert tag_of("/api/v1/trades") == "Trades"
    assert tag_of("/api/v1/trade-ideas") == "Trade ideas"  # not Trades: a prefix of words
    assert tag_of("/api/v1/models/{name}/predict") == "Models and predictions"
    assert tag_of("/v2") == tag_of("/v2/health/live") == "Open Inference Protocol (V2)"
    assert tag_of("/api/v1/tradesx") is None and tag_of("/api/v2/trades") is None


INTERNAL = [
    (
        re.compile(
            r"\b(?:journal|desk|serving|backoffice|models_registry)\.(?!example\.com)[a-z_]"
        ),
        "a module",
    ),
    (re.compile(r"\b[A-Z]{2,}_[A-Z_]{2,}\b"), "a setting's name"),
    (re.compile(r"\bREADME\b|for the schema|\bseed\b|the view\b", re.I), "a note to ourselves"),
    (re.compile(r"gunicorn|limit_request_line|TIMESCALEDB|\bcagg\b", re.I), "the server's inside"),
    (re.compile(r"example\.org|/accounts/"), "an example of another API"),
]


def test_no_internal_note_is_public_text(schema):
    # The introduction may name the one command staff run to make a key.
    found = [
        (where, words, text[:120])
        for where, text in texts(schema)
        for pattern, words in INTERNAL
        if pattern.search(text.replace("manage.py create_api_key", ""))
    ]
    assert found == []


def test_the_pages_links_point_at_their_own_lists(schema):
    components = schema["components"]["schemas"]
    for name, path in (
        ("PaginatedTradeOutList", "/api/v1/trades?"),
        ("PaginatedTradeIdeaOutList", "/api/v1/trade-ideas?"),
        ("PaginatedDecisionOutList", "/api/v1/decisions?"),
    ):
        link = components[name]["properties"]["next"]["example"]
        assert path in link and "cursor=" in link, (name, link)


@pytest.fixture
def demo_models(settings, tmp_path):
    from models_registry import demo
    from serving.predict.runtime import current

    settings.MODEL_STORAGE_DIR = tmp_path / "models"
    settings.SERVING_PREDICT_RATE = "off"
    current().reset()
    demo.seed()
    yield
    current().reset()


def bot():
    _, raw = api_key_create(name="docs-bot", scopes=["trades:write", "trades:read", "predict"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def quick_start(intro: str) -> list[tuple[str, str | None]]:
    """The (path, body or None for a GET) of each curl command of the introduction
    (its URLs start with "$BASE", which the first block exports)."""
    commands = re.findall(r"```sh\n(.*?)```", intro, re.S)
    found = []
    for command in commands:
        words = shlex.split(command.replace("\\\n", " "))
        if words[0] != "curl":
            continue
        url = next(w for w in words if w.startswith("$BASE"))
        body = words[words.index("-d") + 1] if "-d" in words else None
        found.append((url.removeprefix("$BASE"), body))
    return found


def test_the_quick_start_works_as_written_against_the_demo(schema, demo_models):
    """In-process here; tests/backoffice/test_documented_commands.py runs the same
    commands with curl against make run."""
    from desk import demo as desk_demo

    desk_demo.seed()
    _, raw = api_key_create(
        name="docs-bot", scopes=["trades:write", "trades:read", "predict", "ideas:write"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    steps = quick_start(schema["info"]["description"])
    answers = [
        client.post(path, body, content_type="application/json")
        if body is not None
        else client.get(path)
        for path, body in steps
    ]
    assert [a.status_code for a in answers] == [201, 201, 200, 200, 201, 200], [
        a.content for a in answers
    ]
    assert answers[0].json() == {"created": 1, "duplicates": 0, "closed": 0, "warnings": []}
    assert answers[1].json() == {"created": 0, "duplicates": 0, "closed": 1, "warnings": []}
    assert answers[2].json()["results"][0]["trade_id"] == "BOT1-000042"
    prediction = answers[3].json()
    assert (prediction["model"], prediction["alias"]) == ("trade-outcome-xgboost", "production")
    assert 0 <= prediction["predictions"][0] <= 1
    assert answers[4].json()["risk_check_result"]["checks"]
    path, body = steps[0]
    again = client.post(path, body, content_type="application/json")
    assert again.json() == {"created": 0, "duplicates": 1, "closed": 0, "warnings": []}


def test_the_predict_examples_work_against_every_demo_model(schema, demo_models):
    operation = schema["paths"]["/api/v1/models/{name}/predict"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert {"Instances", "Inputs"} <= set(examples)
    client = bot()
    for model in ("trade-outcome-xgboost", "trade-outcome-lightgbm"):
        for name in ("Instances", "Inputs"):
            answer = client.post(
                f"/api/v1/models/{model}/predict", examples[name]["value"], format="json"
            )
            assert answer.status_code == 200, (model, name, answer.content)
            assert len(answer.json()["predictions"]) == 1


def test_every_parameter_says_what_it_takes(schema):
    missing = [
        (method, path, parameter["name"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert missing == []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
