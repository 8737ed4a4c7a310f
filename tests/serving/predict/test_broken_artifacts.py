"""A broken model answers 503 with a reason; every other model keeps serving."""

import hashlib

import pytest

from models_registry.models import ModelVersion
from tests.serving.conftest import predict

pytestmark = pytest.mark.django_db


def rows(trained):
    return {"inputs": trained.probe.tolist()}


def test_a_tampered_artifact_is_refused_with_a_503_and_others_still_serve(
    bot, xgb, lgbm, artifact_store
):
    trained, version = xgb
    path = artifact_store / version.artifact_path
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x20  # the same size, another hash
    path.write_bytes(bytes(data))
    response = predict(bot, "edge-xgb", rows(trained))
    assert response.status_code == 503
    error = response.json()
    assert error["code"] == "model_unavailable"
    assert "edge-xgb@1 cannot be served" in error["detail"]
    assert "fails its SHA-256 check" in error["detail"]
    other, _ = lgbm
    assert predict(bot, "edge-lgbm", rows(other)).status_code == 200


def test_a_corrupt_artifact_that_matches_its_record_is_a_503_and_others_still_serve(
    bot, xgb, lgbm, artifact_store
):
    """Garbage bytes whose hash was recorded (say, a file written by a broken exporter):
    the hash check passes, the load fails, and only this model is down."""
    trained, version = xgb
    garbage = b"{" + b"\x00\x13garbage" * 500
    path = artifact_store / version.artifact_path
    path.write_bytes(garbage)
    ModelVersion.objects.filter(pk=version.pk).update(
        sha256=hashlib.sha256(garbage).hexdigest(), size=len(garbage)
    )
    response = predict(bot, "edge-xgb", rows(trained))
    assert response.status_code == 503
    assert "not an XGBoost model" in response.json()["detail"]
    other, _ = lgbm
    assert predict(bot, "edge-lgbm", rows(other)).status_code == 200
    assert predict(bot, "edge-xgb", rows(trained)).status_code == 503, "still down, not a 500"


def test_a_missing_artifact_is_a_503(bot, xgb, artifact_store):
    trained, version = xgb
    (artifact_store / version.artifact_path).unlink()
    response = predict(bot, "edge-xgb", rows(trained))
    assert response.status_code == 503
    assert "missing from the artifact store" in response.json()["detail"]


def test_a_model_loaded_before_the_tampering_keeps_its_verified_numbers(bot, xgb, artifact_store):
    trained, version = xgb
    first = predict(bot, "edge-xgb", rows(trained)).json()
    (artifact_store / version.artifact_path).write_bytes(b"tampered")
    probe = {"inputs": (trained.probe + 1).tolist()}  # not in the prediction cache
    assert predict(bot, "edge-xgb", probe).status_code == 200
    assert first["predictions"]


def test_a_repaired_artifact_serves_again_after_the_retry_delay(
    bot, xgb, artifact_store, monkeypatch
):
    from serving.predict import predictors as predictors_module

    monkeypatch.setattr(predictors_module, "FAILURE_RETRY", 0.0)
    trained, version = xgb
    path = artifact_store / version.artifact_path
    good = path.read_bytes()
    path.write_bytes(b"x" * len(good))
    assert predict(bot, "edge-xgb", rows(trained)).status_code == 503
    path.write_bytes(good)
    assert predict(bot, "edge-xgb", rows(trained)).status_code == 200
