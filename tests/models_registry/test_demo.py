"""The demo seeds two trained models and an ONNX LSTM, aliased production, that the API
serves, a promotion history of the XGBoost model (a version on fewer signals in staging,
a breaking move of production to it and its rollback), and the production XGBoost
version compiled where gcc is installed."""

import pytest
from django.urls import reverse

from models_registry import demo
from models_registry.models import AliasMove, ModelAlias, ModelVersion
from tests.models_registry.factories import needs_gcc

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def test_it_trains_and_aliases_an_xgboost_a_lightgbm_and_an_onnx_lstm_model_once():
    summary = demo.seed()
    assert "trade-outcome-xgboost@1" in summary and "trade-outcome-lightgbm@1" in summary
    assert "trade-outcome-lstm@1 (ONNX LSTM)" in summary
    aliases = ModelAlias.objects.select_related("version__model").order_by("model__name", "name")
    assert [(a.model.name, a.name, a.version.framework, a.version.version) for a in aliases] == [
        ("trade-outcome-lightgbm", "production", "lightgbm", 1),
        ("trade-outcome-lstm", "production", "onnx", 1),
        ("trade-outcome-xgboost", "production", "xgboost", 1),
        ("trade-outcome-xgboost", "staging", "xgboost", 2),
    ]
    again = demo.seed()
    assert again.startswith("kept "), "a second run keeps what is there"
    assert "kept trade-outcome-xgboost's promotion history" in again
    assert AliasMove.objects.filter(model__name="trade-outcome-xgboost").count() == 4


def test_the_xgboost_models_history_holds_a_breaking_move_and_its_rollback(admin_client):
    demo.seed()
    moves = AliasMove.objects.filter(model__name="trade-outcome-xgboost").order_by("id")
    assert [
        (m.alias, m.from_version and m.from_version.version, m.to_version.version, m.breaking)
        for m in moves
    ] == [
        ("production", None, 1, False),
        ("staging", None, 2, False),
        ("production", 1, 2, True),
        ("production", 2, 1, True),
    ]
    move, rollback = moves[2], moves[3]
    assert [f["name"] for f in move.schema_diff["removed"]] == ["rsi_14", "macd_hist"]
    assert rollback.rollback_of == move and "the AUC fell from" in rollback.reason
    # A newcomer's "Roll back production to v2" shows the diff and the metric changes,
    # and is offered as what it is: it serves again the version the demo's rollback
    # withdrew, so it takes the confirmation of a breaking move (issue 27).
    model = move.model
    page_url = reverse("admin:models_registry_registeredmodel_change", args=[model.pk])
    page = admin_client.get(page_url)
    assert "Roll back production to v2 (breaking: confirm)" in page.content.decode()
    review = admin_client.get(
        reverse("admin:models_registry_registeredmodel_rollback", args=[model.pk, "production"])
    )
    assert f"version 2 was withdrawn by rollback #{rollback.pk}" in review.content.decode()
    names = [row.name for row in review.context["review"].schema_rows]
    assert names == ["rsi_14", "macd_hist"]
    auc = next(row for row in review.context["review"].metric_rows if row.name == "auc")
    assert auc.verdict == "▼ worse"


@needs_gcc
def test_it_compiles_the_xgboost_version_where_gcc_is_installed():
    summary = demo.seed()
    assert "trade-outcome-xgboost@1 compiled to a tree predictor" in summary
    version = ModelVersion.objects.get(model__name="trade-outcome-xgboost", version=1)
    assert version.is_compiled and version.compiled_by.startswith("demo, ")
    assert not ModelVersion.objects.get(model__name="trade-outcome-lightgbm").is_compiled
    assert "kept trade-outcome-xgboost@1 compiled" in demo.seed()


def test_without_gcc_it_says_the_version_is_not_compiled(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no gcc on it
    summary = demo.seed()
    assert "trade-outcome-xgboost@1 not compiled: gcc is not installed" in summary
    assert not ModelVersion.objects.get(model__name="trade-outcome-xgboost", version=1).is_compiled
