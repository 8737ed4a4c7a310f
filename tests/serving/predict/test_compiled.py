"""A compiled version serves through its compiled predictor, with the booster's numbers;
a tampered, missing or foreign library is refused loudly and the booster serves.

Libraries are really compiled (gcc) from the trained test models.
"""

import io
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from django.core.management import call_command
from prometheus_client import REGISTRY

from models_registry.compiling import operator_identity, version_compile
from models_registry.models import ModelVersion
from models_registry.services import predictor_load
from serving.predict.runtime import current
from serving.served import ServedVersion
from tests.models_registry.factories import needs_gcc
from tests.serving.conftest import predict
from tests.serving.protocols.test_v2 import fp32, infer, matrix

pytestmark = [pytest.mark.django_db, needs_gcc]


def compile_version(version: ModelVersion) -> ModelVersion:
    return version_compile(version=version, compiled_by=operator_identity())


def loaded_entry(model: str):
    [entry] = [e for e in current().predictors.snapshot() if e.served.model == model]
    return entry


def fallbacks(model: str, reason: str) -> float:
    labels = {"model": model, "version": "1", "reason": reason}
    return REGISTRY.get_sample_value("serving_compiled_fallbacks_total", labels) or 0.0


def refusals(caplog) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "serving.predict.predictors"
        and r.message.startswith("compiled predictor refused")
    ]


@pytest.fixture
def compiled_xgb(xgb):
    trained, version = xgb
    return trained, compile_version(version)


def test_a_compiled_version_answers_the_boosters_numbers_through_predict(bot, compiled_xgb):
    trained, _ = compiled_xgb
    response = predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    assert response.status_code == 200
    got = np.array(response.json()["predictions"])
    assert np.abs(got - np.array(trained.expected)).max() <= 1e-6
    entry = loaded_entry("edge-xgb")
    assert entry.compiled and entry.as_dict()["predictor"] == "compiled"
    assert entry.compiled_refused is None


def test_v2_infer_and_the_cache_page_show_the_compiled_predictor(bot, ops, compiled_xgb):
    trained, _ = compiled_xgb
    rows = fp32(trained.probe)
    answer = infer(bot, "edge-xgb", {"inputs": [matrix(trained.probe)]})
    assert answer.status_code == 200
    from_v2 = np.array(answer.json()["outputs"][0]["data"])
    booster = np.array(predict(bot, "edge-xgb", {"inputs": rows.tolist()}).json()["predictions"])
    assert np.abs(from_v2 - booster).max() <= 1e-6
    [shown] = ops.get("/api/v1/cache").json()["loaded"]
    assert (shown["predictor"], shown["compiled_refused"]) == ("compiled", None)


def test_a_compiled_lightgbm_version_serves_too(bot, lgbm):
    trained, version = lgbm
    compile_version(version)
    got = predict(bot, "edge-lgbm", {"inputs": trained.probe.tolist()}).json()["predictions"]
    assert np.abs(np.array(got) - np.array(trained.expected)).max() <= 1e-6
    assert loaded_entry("edge-lgbm").compiled


def test_a_tampered_library_is_refused_loudly_and_the_booster_serves_exactly(
    bot, ops, compiled_xgb, artifact_store, caplog
):
    trained, version = compiled_xgb
    library = artifact_store / version.compiled_path
    data = bytearray(library.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size, another hash
    library.write_bytes(bytes(data))
    before = fallbacks("edge-xgb", "artifact")
    with caplog.at_level(logging.ERROR, logger="serving.predict.predictors"):
        response = predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    assert response.status_code == 200
    assert response.json()["predictions"] == trained.expected, "the booster's own numbers"
    [record] = refusals(caplog)
    assert record.levelno == logging.ERROR and record.reason == "artifact"
    assert "fails its SHA-256 check" in record.detail
    assert fallbacks("edge-xgb", "artifact") == before + 1
    [shown] = ops.get("/api/v1/cache").json()["loaded"]
    assert shown["predictor"] == "booster"
    assert "fails its SHA-256 check" in shown["compiled_refused"]
    # Once per load, not per request: the refusal is remembered with the loaded booster.
    with caplog.at_level(logging.ERROR, logger="serving.predict.predictors"):
        predict(bot, "edge-xgb", {"inputs": (trained.probe + 1).tolist()})
    assert len(refusals(caplog)) == 1


def test_a_missing_library_is_refused_loudly_and_the_booster_serves(
    bot, compiled_xgb, artifact_store, caplog
):
    trained, version = compiled_xgb
    (artifact_store / version.compiled_path).unlink()
    with caplog.at_level(logging.ERROR, logger="serving.predict.predictors"):
        response = predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    assert response.json()["predictions"] == trained.expected
    [record] = refusals(caplog)
    assert "missing from the artifact store" in record.detail


def test_a_library_built_for_another_platform_is_refused(bot, compiled_xgb, caplog):
    trained, version = compiled_xgb
    ModelVersion.objects.filter(pk=version.pk).update(
        compiled_toolchain={**version.compiled_toolchain, "machine": "riscv64"}
    )
    before = fallbacks("edge-xgb", "platform")
    with caplog.at_level(logging.ERROR, logger="serving.predict.predictors"):
        response = predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    assert response.json()["predictions"] == trained.expected
    [record] = refusals(caplog)
    assert record.reason == "platform" and "built for riscv64" in record.detail
    assert fallbacks("edge-xgb", "platform") == before + 1


def test_serving_compiled_off_serves_the_booster_without_an_error(
    bot, compiled_xgb, settings, caplog
):
    settings.SERVING_COMPILED = False
    trained, _ = compiled_xgb
    with caplog.at_level(logging.ERROR, logger="serving.predict.predictors"):
        response = predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    assert response.json()["predictions"] == trained.expected
    entry = loaded_entry("edge-xgb")
    assert not entry.compiled and entry.compiled_refused is None
    assert refusals(caplog) == []


def test_compiling_a_served_version_switches_the_workers_to_it(
    bot, xgb, settings, django_capture_on_commit_callbacks
):
    settings.SERVING_ALIAS_CHECK_MS = 0
    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    assert predict(bot, "edge-xgb", body).status_code == 200
    assert not loaded_entry("edge-xgb").compiled
    with django_capture_on_commit_callbacks(execute=True):
        call_command("compile_model", "edge-xgb", "1", stdout=io.StringIO())
    changed = {"inputs": (trained.probe * 1.01).tolist()}  # not in the prediction cache
    assert predict(bot, "edge-xgb", changed).status_code == 200
    assert loaded_entry("edge-xgb").compiled, "the next request serves the compiled one"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("compile_model", "edge-xgb", "1", "--remove", stdout=io.StringIO())
    assert predict(bot, "edge-xgb", {"inputs": (trained.probe * 1.02).tolist()}).status_code == 200
    assert not loaded_entry("edge-xgb").compiled, "and back to the booster"


def test_concurrent_predictions_on_one_compiled_predictor_are_each_right(compiled_xgb):
    """tl2cgen's predict runs one call at a time: the lock keeps the threads of a
    gthread worker from sharing it."""
    trained, version = compiled_xgb
    entry = current().predictors.get(ServedVersion.of(ModelVersion.objects.get(pk=version.pk)))
    assert entry.compiled
    rows = [trained.probe + i * 1e-3 for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(entry.predictor.predict, rows))
    booster = predictor_load(
        framework=version.framework,
        artifact_path=version.artifact_path,
        sha256=version.sha256,
        size=version.size,
        pickle_trusted=False,
    )
    for row, answer in zip(rows, answers, strict=True):
        assert np.abs(np.array(answer) - np.array(booster.predict(row))).max() <= 1e-6
