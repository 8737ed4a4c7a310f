"""The demo seeds two trained models and an ONNX LSTM, aliased production, that the API
serves, and compiles the XGBoost one where gcc is installed."""

import pytest

from models_registry import demo
from models_registry.models import ModelAlias, ModelVersion

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def test_it_trains_and_aliases_an_xgboost_a_lightgbm_and_an_onnx_lstm_model_once():
    summary = demo.seed()
    assert "trade-outcome-xgboost@1" in summary and "trade-outcome-lightgbm@1" in summary
    assert "trade-outcome-lstm@1 (ONNX LSTM)" in summary
    aliases = ModelAlias.objects.select_related("version__model").order_by("model__name")
    assert [(a.model.name, a.name, a.version.framework) for a in aliases] == [
        ("trade-outcome-lightgbm", "production", "lightgbm"),
        ("trade-outcome-lstm", "production", "onnx"),
        ("trade-outcome-xgboost", "production", "xgboost"),
    ]
    assert demo.seed().startswith("kept "), "a second run keeps what is there"


def test_it_compiles_the_xgboost_version_where_gcc_is_installed():
    summary = demo.seed()
    assert "trade-outcome-xgboost@1 compiled to a tree predictor" in summary
    version = ModelVersion.objects.get(model__name="trade-outcome-xgboost")
    assert version.is_compiled and version.compiled_by.startswith("demo, ")
    assert not ModelVersion.objects.get(model__name="trade-outcome-lightgbm").is_compiled
    assert "kept trade-outcome-xgboost@1 compiled" in demo.seed()


def test_without_gcc_it_says_the_version_is_not_compiled(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no gcc on it
    summary = demo.seed()
    assert "trade-outcome-xgboost@1 not compiled: gcc is not installed" in summary
    assert not ModelVersion.objects.get(model__name="trade-outcome-xgboost").is_compiled
