"""register_model, train_model, move_alias and warm_cache, run as an operator would."""

import io
import logging

import pytest
from django.core.management import CommandError, call_command

from models_registry.models import AliasMove, ModelAlias, ModelVersion
from models_registry.training import journal_dataset, model_train
from tests.models_registry import factories

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def write(tmp_path, trained):
    path = tmp_path / trained.filename
    path.write_bytes(trained.data)
    return path


def test_register_model_registers_and_aliases_a_file(tmp_path):
    path = write(tmp_path, factories.xgboost_model())
    output = run(
        "register_model",
        str(path),
        "--name",
        "edge",
        "--alias",
        "production",
        "--metrics",
        '{"auc": 0.7}',
    )
    assert "registered edge@1 (xgboost" in output
    assert "alias production -> edge@1" in output
    version = ModelVersion.objects.get()
    assert version.metrics == {"auc": 0.7}
    assert ModelAlias.objects.get().version == version


def test_register_model_takes_features_for_a_model_without_names(tmp_path):
    path = write(tmp_path, factories.lightgbm_model(named=False))
    with pytest.raises(CommandError, match=r"--features f1,f2"):
        run("register_model", str(path), "--name", "edge")
    output = run("register_model", str(path), "--name", "edge", "--features", "a,b,c,d,e")
    assert "features: a, b, c, d, e" in output


def test_register_model_names_a_missing_file_and_bad_metrics(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run("register_model", str(tmp_path / "nope.json"), "--name", "edge")
    path = write(tmp_path, factories.xgboost_model())
    with pytest.raises(CommandError, match="--metrics is not JSON"):
        run("register_model", str(path), "--name", "edge", "--metrics", "{x")


def test_register_model_says_when_a_file_is_already_a_version(tmp_path):
    path = write(tmp_path, factories.xgboost_model())
    run("register_model", str(path), "--name", "edge")
    with pytest.raises(CommandError, match="edge already has this exact file as version 1"):
        run("register_model", str(path), "--name", "edge", "--alias", "production")
    assert ModelVersion.objects.count() == 1 and not ModelAlias.objects.exists()


def test_register_model_takes_a_pickle_only_with_trust_pickle(tmp_path):
    trained = factories.sklearn_pipeline_joblib()
    path = write(tmp_path, trained)
    with pytest.raises(CommandError, match=r"\.skops.*or pass --trust-pickle"):
        run("register_model", str(path), "--name", "edge-sk", "--features", "a,b,c,d,e")
    assert not ModelVersion.objects.exists()
    args = ["register_model", str(path), "--name", "edge-sk", "--features", "a,b,c,d,e"]
    output = run(*args, "--trust-pickle")
    assert "registered edge-sk@1 (sklearn-joblib" in output
    assert "edge-sk@1 is a pickle trusted by an operator" in output
    assert ModelVersion.objects.get().pickle_trust == "operator"


def test_register_model_takes_a_skops_file_without_any_flag(tmp_path):
    path = write(tmp_path, factories.sklearn_pipeline())
    output = run("register_model", str(path), "--name", "edge-sk", "--features", "a,b,c,d,e")
    assert "registered edge-sk@1 (sklearn-skops" in output
    assert "pickle" not in output


def test_train_model_trains_both_frameworks_records_metrics_and_aliases():
    output = run(
        "train_model",
        "--rows",
        "800",
        "--rounds",
        "20",
        "--alias",
        "staging",
        "--source",
        "synthetic",
    )
    assert "registered trade-outcome-xgboost@1 on synthetic data: AUC" in output
    assert "registered trade-outcome-lightgbm@1" in output
    for version in ModelVersion.objects.all():
        assert {"auc", "logloss", "accuracy", "holdout_rows"} <= set(version.metrics)
        assert 0.6 < version.metrics["auc"] <= 1.0, "the synthetic signal is learnable"
        assert version.aliases.get().name == "staging"


def test_training_without_journal_trades_falls_back_to_synthetic_and_says_why(caplog):
    dataset, reason = journal_dataset()
    assert dataset is None and reason
    with caplog.at_level(logging.INFO, logger="models_registry.training"):
        versions = model_train(frameworks=("lightgbm",), rows=600, rounds=10)
    assert versions[0].metrics["source"] == "synthetic"
    fallback = [r for r in caplog.records if r.getMessage() == "training on the synthetic set"]
    assert fallback and fallback[0].reason == reason


def test_training_on_the_journal_alone_fails_clearly_without_trades():
    with pytest.raises(CommandError, match="cannot train on the journal"):
        run("train_model", "--source", "journal")


def test_move_alias_promotes_and_rolls_back(tmp_path):
    path = write(tmp_path, factories.xgboost_model())
    run("register_model", str(path), "--name", "edge", "--alias", "production")
    path.write_bytes(factories.xgboost_model(seed=1).data)
    run("register_model", str(path), "--name", "edge")
    assert "from version 1 to version 2" in run(
        "move_alias", "edge", "production", "2", "--reason", "better AUC"
    )
    assert "already points at version 2" in run("move_alias", "edge", "production", "2")
    assert "from version 2 to version 1" in run("move_alias", "edge", "production", "1")
    assert AliasMove.objects.filter(reason="better AUC").exists()
    with pytest.raises(CommandError, match="has no version 7"):
        run("move_alias", "edge", "production", "7")
    with pytest.raises(CommandError, match="no model named 'ghost'"):
        run("move_alias", "ghost", "production", "1")


def test_warm_cache_loads_every_production_version_and_fails_on_a_broken_one(
    tmp_path, artifact_store
):
    path = write(tmp_path, factories.xgboost_model())
    run("register_model", str(path), "--name", "edge", "--alias", "production")
    output = run("warm_cache")
    assert "ok      edge@1 (production) loaded in" in output
    version = ModelVersion.objects.get()
    (artifact_store / version.artifact_path).write_bytes(b"x" * version.size)
    from serving.predict.runtime import current

    current().predictors.clear()
    with pytest.raises(CommandError, match="1 of 1 aliased version"):
        run("warm_cache")
