"""Prediction records on TimescaleDB: a hypertable with a retention policy that drops
old records, written by COPY where the server takes it and by INSERT where it does not
(the WebAssembly test server), saying so once."""

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from serving.live.record_reads import prediction_find, records_prune
from serving.live.recorder import new_record_id, record_time
from serving.models import PredictionRecord
from serving.predict.runtime import current
from serving.predict.services import prediction_make

pytestmark = [pytest.mark.timescale, pytest.mark.django_db]


def query(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def test_records_are_a_hypertable_with_the_configured_retention():
    tables = {
        r[0] for r in query("SELECT hypertable_name FROM timescaledb_information.hypertables")
    }
    assert "serving_predictionrecord" in tables
    jobs = query(
        "SELECT proc_name, config FROM timescaledb_information.jobs "
        "WHERE hypertable_name = 'serving_predictionrecord'"
    )
    assert [(p, json.loads(c)["drop_after"]) for p, c in jobs] == [("policy_retention", "90 days")]


def test_records_are_written_on_this_server_by_copy_or_said_insert(xgb, caplog):
    caplog.set_level(logging.WARNING, logger="serving.live.recorder")
    for n in range(3):
        result = prediction_make(
            model="edge-xgb", alias=None, version=None, body={"inputs": [[n, 0, 1, 0.5, 2]]}
        )
    assert current().recorder.flush() == 3
    assert current().recorder.flush() == 0
    said = [r for r in caplog.records if "refuses COPY FROM STDIN" in r.getMessage()]
    method = current().recorder.stats()["method"]
    assert (method == "insert") == bool(said), (method, said)
    assert len(said) <= 1, "said once, not at every flush"
    found = prediction_find(prediction_id=result.prediction_ids[0])
    assert found is not None and found.output == result.predictions[0]
    assert PredictionRecord.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_retention_policy_drops_old_records_and_keeps_new_ones(xgb):
    _, version = xgb
    # The policy drops chunks by the database server's clock, not the test's.
    (db_now,) = query("SELECT now()")[0]
    old_time = db_now - timedelta(days=120)
    for record_id in (new_record_id(old_time), new_record_id(db_now)):
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
    (job_id,) = query(
        "SELECT job_id FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_retention' AND hypertable_name = 'serving_predictionrecord'"
    )[0]
    assert records_prune() == 0, "the policy's work, not the job engine's, here"
    assert PredictionRecord.objects.count() == 2
    query("CALL run_job(%s)", [job_id])
    left = list(PredictionRecord.objects.values_list("requested_at", flat=True))
    assert len(left) == 1 and left[0] > db_now - timedelta(days=1)


def test_a_shadow_sits_in_its_answers_chunk_and_the_comparison_joins_them(xgb):
    from models_registry.challengers import challenger_set
    from models_registry.models import ModelAlias
    from serving.live.comparison import compare
    from tests.models_registry import factories
    from tests.serving.conftest import register

    trained, version = xgb
    challenger = register(factories.xgboost_model(seed=1), "edge-xgb")
    challenger_set(
        model=version.model,
        expected_version=version,
        expected_challenger=None,
        alias="production",
        version=challenger,
        mode="shadow",
    )
    current().resolver.forget()
    past = datetime.now(UTC) - timedelta(days=3)
    answer = prediction_make(
        model="edge-xgb",
        alias=None,
        version=None,
        body={"inputs": trained.probe[:3].tolist()},
        requested_at=past,
    )
    assert current().shadows.drain() == 1 and current().recorder.flush() == 2
    shadow = PredictionRecord.objects.get(shadow_of=uuid.UUID(int=answer.record_id))
    chunks = query(
        "SELECT count(DISTINCT tableoid) FROM serving_predictionrecord WHERE id = %s OR id = %s",
        [uuid.UUID(int=answer.record_id), shadow.id],
    )
    assert chunks == [(1,)], "the shadow is in its answer's chunk"
    alias = ModelAlias.objects.select_related("version", "challenger").get(name="production")
    same = compare(alias=alias).same_rows
    assert (same.pairs, same.rows) == (1, 3)
