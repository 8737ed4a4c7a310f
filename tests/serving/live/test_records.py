"""Prediction records: every answer's ids name a recorded row of a real model, on every
protocol; sampling; what a record keeps (never the API key); hostile inputs.

The writer thread is off in-process (tests/conftest.py): each test writes the queued
records with ``current().recorder.flush()`` on its own connection, as the thread would.
"""

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from serving.live.record_reads import prediction_find
from serving.live.recorder import Entry, new_record_id, parse_prediction_id, record_time
from serving.models import PredictionRecord
from serving.predict.runtime import current
from serving.predict.services import prediction_make
from tests.serving.conftest import instances, key_client, predict

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("awkward_clock")]


def flush() -> int:
    return current().recorder.flush()


def test_every_row_gets_an_id_that_names_its_recorded_inputs_and_output(xgb):
    trained, version = xgb
    _, raw_key = api_key_create(name="idea-bot", scopes=["predict"])
    client = APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw_key}", HTTP_X_REQUEST_ID="req-42.a")
    rows = trained.probe[:3]
    response = predict(client, "edge-xgb", {"instances": instances(trained, rows)})
    assert response.status_code == 200
    body = response.json()
    ids = body["prediction_ids"]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert {i.rsplit("-", 1)[0] for i in ids} == {response["X-Prediction-Id"]}
    assert [i.rsplit("-", 1)[1] for i in ids] == ["0", "1", "2"]
    assert PredictionRecord.objects.count() == 0, "nothing is written on the request path"
    assert flush() == 1
    for row, prediction_id in enumerate(ids):
        found = prediction_find(prediction_id=prediction_id)
        assert found is not None, prediction_id
        record = found.record
        assert (found.row, record.model_version_id, record.model, record.version) == (
            row,
            version.pk,
            "edge-xgb",
            1,
        )
        assert (record.alias, record.protocol, record.rows, record.cached) == (
            "production",
            "predict",
            3,
            False,
        )
        assert found.output == body["predictions"][row]
        assert list(found.inputs.values()) == rows[row].tolist()  # exact float64
        assert list(found.inputs) == trained.features
        assert (record.request_id, record.api_key, record.username) == ("req-42.a", "idea-bot", "")
        assert 0 < record.latency_ms < 10_000 and record.sample_rate == 1.0
        assert record.requested_at == record_time(record.id)
    stored = json.dumps(
        list(PredictionRecord.objects.values("api_key", "username", "request_id", "model"))
    )
    assert raw_key not in stored and raw_key[:8] not in stored, "a record holds the key"
    assert prediction_find(prediction_id=f"{ids[0][:-2]}-3") is None  # no fourth row
    assert current().recorder.stats()["method"] == "copy"


def test_a_repeated_request_is_recorded_as_cached_with_its_inputs(bot, lgbm):
    trained, _ = lgbm
    # A body over 4 KB: the repeat is answered by the hash of its bytes, never parsed on
    # the request path; its record's inputs are parsed by the writer.
    rows = np.tile(trained.probe, (4, 1))
    first = predict(bot, "edge-lgbm", {"inputs": rows.tolist()}).json()
    second = predict(bot, "edge-lgbm", {"inputs": rows.tolist()}).json()
    assert (first["cached"], second["cached"]) == (False, True)
    assert flush() == 2
    records = {r.cached: r for r in PredictionRecord.objects.all()}
    assert records[True].inputs == records[False].inputs == rows.tolist()
    assert records[True].outputs == second["predictions"]


def test_v2_and_mlflow_answers_carry_their_id_and_are_recorded(bot, xgb, staff):
    trained, _ = xgb
    v2 = bot.post(
        "/v2/models/edge-xgb/infer",
        {
            "inputs": [
                {
                    "name": "input__0",
                    "datatype": "FP64",
                    "shape": [2, 5],
                    "data": trained.probe[:2].tolist(),
                }
            ]
        },
        format="json",
    )
    assert v2.status_code == 200, v2.content
    assert v2.json()["parameters"]["prediction_id"] == v2["X-Prediction-Id"]
    mlflow = staff_with_view_permission(staff).post(
        "/api/v1/models/edge-xgb/invocations",
        {"dataframe_split": {"columns": trained.features, "data": trained.probe[:1].tolist()}},
        format="json",
    )
    assert mlflow.status_code == 200, mlflow.content
    assert flush() == 2
    by_protocol = {r.protocol: r for r in PredictionRecord.objects.all()}
    assert by_protocol["v2"].id.hex == v2["X-Prediction-Id"]
    assert by_protocol["v2"].outputs == v2.json()["outputs"][0]["data"]
    assert by_protocol["invocations"].id.hex == mlflow["X-Prediction-Id"]
    assert (by_protocol["invocations"].username, by_protocol["invocations"].api_key) == ("sue", "")
    assert by_protocol["invocations"].outputs == mlflow.json()["predictions"]
    assert (
        prediction_find(prediction_id=f"{mlflow['X-Prediction-Id']}-0").output
        == (mlflow.json()["predictions"][0])
    )


def staff_with_view_permission(client):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.get(username="sue")
    user.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(get_user_model().objects.get(pk=user.pk))
    return client


def test_no_record_at_rate_zero_yet_every_answer_has_its_ids(bot, xgb, settings):
    trained, _ = xgb
    settings.SERVING_RECORD_SAMPLE_RATE = 0
    body = predict(bot, "edge-xgb", {"inputs": trained.probe[:2].tolist()}).json()
    assert len(body["prediction_ids"]) == 2
    assert flush() == 0 and PredictionRecord.objects.count() == 0
    assert current().recorder.stats()["not_sampled"] == 1


def test_the_sampling_rate_is_honoured_within_binomial_tolerance(xgb, settings):
    settings.SERVING_RECORD_SAMPLE_RATE = 0.25
    settings.SERVING_PREDICTION_CACHE_TTL = 0
    random.seed(20261128)
    requests = 800
    for n in range(requests):
        prediction_make(
            model="edge-xgb", alias=None, version=None, body={"inputs": [[n, 0, 1, 0.5, 2]]}
        )
    flush()
    recorded = PredictionRecord.objects.count()
    # 800 x 0.25 = 200, standard deviation sqrt(800 x 0.25 x 0.75) = 12.2: four of them.
    assert abs(recorded - 200) <= 49, recorded
    stats = current().recorder.stats()
    assert stats["written"] + stats["not_sampled"] == requests
    assert set(PredictionRecord.objects.values_list("sample_rate", flat=True)) == {0.25}


HOSTILE_ROWS = [
    [1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -0.0, 1e-300],
    [2**63, -(2**63), 123456789012345678901234567890, 0.1, 1e21],
]


def test_hostile_numbers_are_recorded_exactly_and_bad_bodies_make_no_record(bot, xgb):
    response = predict(bot, "edge-xgb", {"inputs": HOSTILE_ROWS})
    assert response.status_code == 200, response.content
    refused = [
        '{"inputs": [[NaN, 1, 2, 3, 4]]}',
        '{"inputs": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"instances": [{"rsi_14\\u0000": 1}]}',
        '{"instances": [{"\\ud800": 1.0}]}',
        '{"inputs": [[1e999, 1, 2, 3, 4]]}',
        '{"inputs": [["1", 1, 2, 3, 4]]}',
    ]
    for body in refused:
        answer = bot.post("/api/v1/models/edge-xgb/predict", body, content_type="application/json")
        assert 400 <= answer.status_code < 500, body[:60]
    v2_ints = bot.post(
        "/v2/models/edge-xgb/infer",
        {
            "inputs": [
                {
                    "name": "input__0",
                    "datatype": "INT64",
                    "shape": [1, 5],
                    "data": [2**63 - 1, -(2**63), 0, 1, -1],
                }
            ]
        },
        format="json",
    )
    assert v2_ints.status_code == 200, v2_ints.content
    assert flush() == 2
    stats = current().recorder.stats()
    assert (stats["refused"], stats["dropped_unavailable"]) == (0, 0)
    by_protocol = {r.protocol: r for r in PredictionRecord.objects.all()}
    # jsonb keeps numbers as decimals (1.7976931348623157e308 reads back as its 309
    # digits): each is the same float64 again.
    assert as_floats(by_protocol["predict"].inputs) == as_floats(HOSTILE_ROWS)
    assert as_floats(by_protocol["v2"].inputs) == [[2.0**63, -(2.0**63), 0.0, 1.0, -1.0]]
    found = prediction_find(prediction_id=f"{by_protocol['predict'].id.hex}-0")
    assert list(found.inputs.values()) == as_floats(HOSTILE_ROWS)[0]


def as_floats(rows):
    return [[float(v) for v in row] for row in rows]


def test_a_record_the_database_refuses_is_dropped_alone(xgb):
    _, version = xgb
    from serving.served import ServedVersion

    served = ServedVersion.of(version)
    bad = SimpleNamespace(**{**served.__dict__, "version": -1})  # refused by its CHECK

    def entry(target, request_id):
        return Entry(
            new_record_id(),
            target,
            "production",
            "predict",
            np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]),
            None,
            [0.5],
            False,
            1.0,
            request_id,
            "bot",
            "",
            1.0,
        )

    for n, target in enumerate([served, bad, served]):
        current().recorder.submit(entry(target, f"r{n}"))
    assert flush() == 2
    assert sorted(PredictionRecord.objects.values_list("request_id", flat=True)) == ["r0", "r2"]
    assert current().recorder.stats()["refused"] == 1


def test_prediction_ids_that_name_nothing_find_nothing():
    for value in ["", "abc", "0" * 32 + "-0", uuid.uuid4().hex + "-0", f"{new_record_id():032x}-x"]:
        assert prediction_find(prediction_id=value) is None
    assert parse_prediction_id(f"{new_record_id():032x}-12")[1] == 12


def test_the_recorder_shows_in_readyz_for_staff(staff_client, bot, xgb):
    trained, _ = xgb
    predict(bot, "edge-xgb", {"inputs": trained.probe[:1].tolist()})
    details = staff_client.get("/readyz").json()["checks"]["prediction_records"]
    assert details["ok"] is True and details["queued"] == 1 and details["written"] == 0
    flush()
    details = staff_client.get("/readyz").json()["checks"]["prediction_records"]
    assert (details["queued"], details["written"]) == (0, 1)
    assert details["shadows"] == {
        "queued": 0,
        "thread": "idle",
        "scored": 0,
        "dropped_full": 0,
        "failed": 0,
        "last_error": None,
    }


def test_a_key_without_predict_scope_gets_no_prediction_and_no_record(xgb):
    trained, _ = xgb
    reader = key_client("trades:read", name="reader-2")
    assert predict(reader, "edge-xgb", {"inputs": trained.probe[:1].tolist()}).status_code == 403
    assert flush() == 0


def test_old_records_are_pruned_by_the_job_engine_where_no_policy_drops_them(xgb, settings):
    from django.conf import settings as live_settings

    from serving.tasks import prune_prediction_records

    _, version = xgb
    settings.SERVING_RECORD_RETENTION_DAYS = 30
    now = datetime.now(UTC)
    for days in (45, 31, 29, 0):
        record_id = new_record_id(now - timedelta(days=days))
        PredictionRecord.objects.create(
            id=uuid.UUID(int=record_id),
            requested_at=record_time(record_id),
            model_version=version,
            model="edge-xgb",
            version=1,
            protocol="predict",
            rows=1,
            inputs=[[1, 2, 3, 4, 5]],
            outputs=[0.5],
            cached=False,
            latency_ms=1.0,
        )
    assert prune_prediction_records() == 2  # the job engine's task, run here
    left = sorted(
        (now - t).days for t in PredictionRecord.objects.values_list("requested_at", flat=True)
    )
    assert left == [0, 29]
    schedule = live_settings.CELERY_BEAT_SCHEDULE["prune-prediction-records"]
    assert schedule["task"] == prune_prediction_records.name
