"""The demo seeds two trained models and an ONNX LSTM, aliased production, that the API
serves."""

import pytest

from models_registry import demo
from models_registry.models import ModelAlias

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
