"""Schemathesis fuzzes every operation of the OpenAPI schema on a live server.

The project runs under gunicorn on a PostgreSQL cluster of its own with the tier's
Redis, filled by ``manage.py demo`` (trades, ideas, decisions) and ``train_model`` (two
small models). Schemathesis reads ``/api/schema/`` from that server and sends, with a key
holding every scope, the schema's examples, its coverage cases (boundaries, missing and
wrong-typed values) and generated ones to every operation. Each answer must be no 5xx,
a status code the schema documents, the documented content type, and a body that
matches the documented schema.

``FUZZ_EXAMPLES`` sets Hypothesis' examples per operation: ``make test`` runs the
default, the same cases every run (derandomized: main stays green unless the code
changes); ``make fuzz`` runs ten times as many, fresh random ones (``FUZZ_RANDOM=1``).
The run counts its requests, prints them per operation and fails below
``FUZZ_MIN_REQUESTS`` (by default ten per example setting: 1,000 in ``make test``).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Mapping

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, as_reported_failure
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.harness.services import PostgresCluster, ServiceError
from tests.live_server import LiveServer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
# The bounded run must really send this many requests (about 1,000 over the operations).
MIN_REQUESTS = int(os.environ.get("FUZZ_MIN_REQUESTS", str(10 * EXAMPLES)))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SCOPES = "trades:read,trades:write,ideas:write,predict,cache:admin"

sent: Counter[str] = Counter()  # requests per operation label


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    try:
        cluster = PostgresCluster(name="fuzz").up()
    except ServiceError as exc:
        pytest.fail(f"cannot start a PostgreSQL cluster: {exc}")
    scratch = tmp_path_factory.mktemp("fuzz")
    # The predict throttle stays on (its 429 is documented) at a rate the run never reaches.
    server = LiveServer(cluster, scratch, SERVING_PREDICT_RATE="100000/m")
    try:
        server.manage("migrate", "--noinput")
        server.manage("demo", "--allow-production")  # its output (a password) is not shown
        server.manage(
            "train_model",
            "--name",
            "fuzz",
            "--source",
            "synthetic",
            "--rows",
            "400",
            "--rounds",
            "10",
            "--alias",
            "staging",
        )
        server.key = server.create_key("fuzzer", SCOPES)
        server.start(migrate=False)
        yield server
    finally:
        server.stop()
        cluster.destroy()


@pytest.fixture(scope="module")
def api_schema(live):
    headers = {"Authorization": f"Api-Key {live.key}"}
    # Each worker's first request imports and warms up; not part of the run.
    for _ in range(4):
        requests.get(f"{live.url}/api/v1/models", headers=headers, timeout=120)
    schema = schemathesis.openapi.from_url(f"{live.url}/api/schema/", headers=headers, timeout=60)
    schema.config.update(base_url=live.url, headers=headers)
    schema.config.generation.update(max_examples=EXAMPLES, database="none")
    models = requests.get(f"{live.url}/api/v1/models", headers=headers, timeout=30).json()
    features = {
        model["name"]: [
            feature["name"]
            for feature in requests.get(
                f"{live.url}/api/v1/models/{model['name']}", headers=headers, timeout=30
            ).json()["versions"][0]["feature_schema"]
        ]
        for model in models
    }
    assert features, "the live server has no model to predict with"

    @schema.hook
    def before_generate_path_parameters(context, strategy):
        # Real model names as well as random ones: predictions and details, not only 404s
        # (and their version 1 where the path has a version: V2's /versions/{version}).
        def real(pair):
            parameters, name = pair
            if parameters is not None and not isinstance(parameters, Mapping):
                return parameters  # a negative case, wrapped by schemathesis: as drawn
            real = {**(parameters or {}), "name": name}
            if "version" in real:
                real["version"] = "1"
            return real

        return st.one_of(strategy, st.tuples(strategy, st.sampled_from(sorted(features))).map(real))

    @schema.hook
    def before_generate_case(context, strategy):
        if context.operation.label != "POST /api/v1/models/{name}/predict":
            return strategy
        # Also rows that a real model accepts, so that predictions run, not only refusals.
        return st.one_of(strategy, valid_predictions(context.operation, features))

    return schema


def valid_predictions(operation, features: dict[str, list[str]]) -> st.SearchStrategy:
    number = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False) | st.integers(-1000, 1000)

    def for_model(name: str) -> st.SearchStrategy:
        names = features[name]
        instances = st.lists(st.fixed_dictionaries({n: number for n in names}), min_size=1)
        inputs = st.lists(st.lists(number, min_size=len(names), max_size=len(names)), min_size=1)
        bodies = instances.map(lambda rows: {"instances": rows}) | inputs.map(
            lambda rows: {"inputs": rows}
        )
        return bodies.map(
            lambda body: operation.Case(
                path_parameters={"name": name}, body=body, media_type="application/json"
            )
        )

    return st.sampled_from(sorted(features)).flatmap(for_model)


def test_every_operation_answers_within_its_schema(live, api_schema, subtests, capsys):
    headers = {"Authorization": f"Api-Key {live.key}", "Connection": "close"}

    def call(case):
        sent[case.operation.label] += 1
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

    # schemathesis.pytest.from_fixture() renames the running pytest item, which pytest 9.2
    # no longer allows; this drives the same per-operation builder (examples, coverage
    # cases, then generated ones) and reports each operation as a subtest.
    settings = hypothesis.settings(
        deadline=None,
        database=None,
        max_examples=EXAMPLES,
        derandomize=not RANDOM,
        print_blob=RANDOM,  # a random run's failure says how to replay it
    )
    operations = []
    started = time.monotonic()
    for built in get_all_tests(
        schema=api_schema, test_func=call, settings=settings, given_kwargs={}
    ):
        operation, operation_test = built.ok()  # an invalid definition fails here
        operations.append(operation.label)
        with subtests.test(operation=operation.label):
            try:
                operation_test()
            except FailureGroup as exc:
                raise as_reported_failure(exc) from None

    seconds = time.monotonic() - started
    total = sum(sent.values())
    with capsys.disabled():  # shown in every run, not only when the test fails
        print(
            f"\nschemathesis: {total} requests over {len(operations)} operations in "
            f"{seconds:.0f} s ({EXAMPLES} examples each, {'random' if RANDOM else 'fixed'})"
        )
        for label in operations:
            print(f"  {sent[label]:6d}  {label}")
    assert all(sent[label] for label in operations), "an operation was never called"
    assert total >= MIN_REQUESTS, f"{total} requests, fewer than {MIN_REQUESTS}"
