"""compile_model: an operator compiles a version's trees; what is recorded and refused.

Every library here is really built (treelite, tl2cgen, gcc: about a second each) from a
really trained model, and compared with that model's own booster.
"""

import hashlib
import io
import platform

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from models_registry.artifacts import native, storage
from models_registry.compiling import CompiledRecord, compiled_predictor_load
from models_registry.models import ModelVersion
from models_registry.services import model_register, predictor_load
from tests.models_registry import factories
from tests.models_registry.factories import needs_gcc

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def register(trained, name: str, **kwargs) -> ModelVersion:
    return model_register(data=trained.data, filename=trained.filename, name=name, **kwargs)


def booster_of(version: ModelVersion):
    return predictor_load(
        framework=version.framework,
        artifact_path=version.artifact_path,
        sha256=version.sha256,
        size=version.size,
        pickle_trusted=False,
    )


def compiled_of(version: ModelVersion):
    return compiled_predictor_load(
        framework=version.framework,
        record=CompiledRecord.of(version),
        n_features=len(version.feature_names),
        output_kind=version.output_kind,
    )


def many_rows(n: int = 5000, *, missing: float = 0.1, seed: int = 7) -> np.ndarray:
    """Rows like the training data, with noise in the last digits and NaN mixed in."""
    rows = factories.probe_rows(n, seed=seed)
    rng = np.random.default_rng(seed)
    rows[rng.random(rows.shape) < missing] = np.nan
    return rows


@needs_gcc
def test_it_compiles_a_version_and_records_library_hash_size_toolchain_and_operator():
    version = register(factories.xgboost_model(), "edge")
    output = run("compile_model", "edge", "1")
    assert "compiled edge@1:" in output
    version.refresh_from_db()
    assert version.is_compiled
    stored = storage.resolve(version.compiled_path)
    assert version.compiled_path.startswith("artifacts/") and version.compiled_path.endswith(".so")
    assert stored.read_bytes()[:4] == b"\x7fELF", "a shared library, built here"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == version.compiled_sha256
    assert stored.stat().st_size == version.compiled_size
    assert version.compiled_sha256 in version.compiled_path, "content-addressed like artifacts"
    tools = version.compiled_toolchain
    assert {"tl2cgen", "treelite", "gcc", "xgboost", "machine", "system"} <= tools.keys()
    assert tools["tl2cgen"] == "1.0.0" and tools["gcc"][0].isdigit()
    assert "@" in version.compiled_by and version.compiled_at is not None
    assert 0 <= version.compiled_max_error <= native.TOLERANCE


@needs_gcc
@pytest.mark.parametrize(
    "trainer",
    [factories.xgboost_model, factories.lightgbm_model],
    ids=["xgboost", "lightgbm"],
)
def test_compiled_and_booster_agree_within_1e6_on_many_rows_with_missing_values(trainer):
    version = register(trainer(), "edge")
    run("compile_model", "edge", "1")
    version.refresh_from_db()
    rows = many_rows()
    assert np.isnan(rows).any(axis=1).sum() > 1000, "many rows with a missing value"
    compiled = np.array(compiled_of(version).predict(rows))
    booster = np.array(booster_of(version).predict(rows))
    assert np.isfinite(compiled).all()
    assert np.abs(compiled - booster).max() <= 1e-6  # probabilities: absolute
    assert np.ptp(booster) > 0.5, "rows that reach very different leaves"


@needs_gcc
def test_a_regression_version_agrees_to_1e6_of_its_value():
    """XGBoost sums float32 leaves itself: at values near 10 one float32 step is 9.5e-7,
    so agreement is relative beyond 1 (native.TOLERANCE)."""
    version = register(factories.xgboost_ubj_model(), "edge-reg")
    run("compile_model", "edge-reg", "1")
    version.refresh_from_db()
    rows = many_rows()
    compiled = np.array(compiled_of(version).predict(rows))
    booster = np.array(booster_of(version).predict(rows))
    assert np.max(np.abs(compiled - booster) / np.maximum(1, np.abs(booster))) <= 1e-6
    assert np.abs(booster).max() > 5


@needs_gcc
def test_the_agreement_check_tells_two_different_models_apart():
    """The check that guards every compile is not vacuous: a library of another model
    fails it."""
    one = register(factories.xgboost_model(), "one")
    other = register(factories.xgboost_model(seed=1, rounds=12), "other")
    run("compile_model", "one", "1")
    one.refresh_from_db()
    error = native.agreement(compiled_of(one), booster_of(other), many_rows(500))
    assert error > 1e-3


def test_probe_rows_sit_on_both_sides_of_the_splits_with_missing_values():
    import json

    import treelite

    booster = booster_of(register(factories.lightgbm_model(), "edge"))
    dump = json.loads(treelite.frontend.from_lightgbm(booster.booster).dump_as_json())
    rows = native.probe_rows(dump, rows=2000)
    node = dump["trees"][0]["nodes"][0]
    values = rows[:, node["split_feature_id"]]
    present = values[~np.isnan(values)]
    assert (present <= node["threshold"]).any() and (present > node["threshold"]).any()
    assert np.isnan(rows[1000:]).any() and not np.isnan(rows[:1000]).any()


@pytest.mark.parametrize(
    "trainer, framework",
    [(factories.sklearn_pipeline, "scikit-learn"), (factories.onnx_lstm_model, "ONNX")],
)
def test_other_frameworks_are_refused_clearly(trainer, framework):
    trained = trainer()
    register(trained, "edge", features=",".join(trained.features))
    with pytest.raises(CommandError, match=rf"edge@1 is {framework}.*only XGBoost and LightGBM"):
        run("compile_model", "edge", "1")
    assert not ModelVersion.objects.get().is_compiled


@needs_gcc
def test_a_compiled_version_is_compiled_again_only_with_force():
    register(factories.lightgbm_model(), "edge", alias="production")
    run("compile_model", "edge", "production")
    first = ModelVersion.objects.get()
    with pytest.raises(CommandError, match=r"already compiled \(by .*pass --force"):
        run("compile_model", "edge", "1")
    run("compile_model", "edge", "1", "--force")
    again = ModelVersion.objects.get()
    assert again.compiled_at > first.compiled_at


@needs_gcc
def test_remove_stops_the_compiled_predictor_and_keeps_the_record_whole():
    register(factories.xgboost_model(), "edge")
    run("compile_model", "edge", "1")
    output = run("compile_model", "edge", "1", "--remove")
    assert "no longer compiled" in output
    version = ModelVersion.objects.get()
    assert not version.is_compiled
    assert (version.compiled_path, version.compiled_size, version.compiled_toolchain) == (
        "",
        None,
        {},
    )
    with pytest.raises(CommandError, match="is not compiled"):
        run("compile_model", "edge", "1", "--remove")


def test_without_a_compiler_it_says_what_to_install(monkeypatch, tmp_path):
    register(factories.xgboost_model(), "edge")
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no gcc on it
    with pytest.raises(CommandError, match=r"gcc is not on PATH.*apt-get install gcc"):
        run("compile_model", "edge", "1")
    assert not ModelVersion.objects.get().is_compiled


def test_an_unknown_model_version_or_alias_is_named():
    register(factories.xgboost_model(), "edge")
    with pytest.raises(CommandError, match="no model named 'nope'"):
        run("compile_model", "nope", "1")
    with pytest.raises(CommandError, match="has no version 9"):
        run("compile_model", "edge", "9")
    with pytest.raises(CommandError, match="has no alias 'staging'"):
        run("compile_model", "edge", "staging")


@needs_gcc
def test_a_tampered_artifact_is_not_compiled(artifact_store):
    version = register(factories.xgboost_model(), "edge")
    path = artifact_store / version.artifact_path
    path.write_bytes(path.read_bytes().replace(b'"', b"'", 1))
    with pytest.raises(CommandError, match="fails its SHA-256 check"):
        run("compile_model", "edge", "1")


@needs_gcc
def test_register_model_compile_registers_and_compiles(tmp_path):
    trained = factories.lightgbm_model()
    path = tmp_path / trained.filename
    path.write_bytes(trained.data)
    output = run("register_model", str(path), "--name", "edge", "--compile")
    assert "registered edge@1" in output and "compiled edge@1:" in output
    assert ModelVersion.objects.get().is_compiled


def test_register_model_compile_of_another_framework_registers_and_says_why_not(tmp_path):
    trained = factories.sklearn_pipeline()
    path = tmp_path / trained.filename
    path.write_bytes(trained.data)
    with pytest.raises(CommandError, match="registered edge@1, but it was not compiled"):
        run(
            "register_model",
            str(path),
            "--name",
            "edge",
            "--features",
            ",".join(trained.features),
            "--compile",
        )
    assert ModelVersion.objects.get().version == 1


@needs_gcc
def test_loading_checks_the_library_hash_and_platform(artifact_store):
    version = register(factories.xgboost_model(), "edge")
    run("compile_model", "edge", "1")
    version.refresh_from_db()
    path = artifact_store / version.compiled_path
    good = path.read_bytes()
    tampered = bytearray(good)
    tampered[len(good) // 2] ^= 0x01
    path.write_bytes(bytes(tampered))
    with pytest.raises(storage.ArtifactError, match="fails its SHA-256 check"):
        compiled_of(version)
    path.unlink()
    with pytest.raises(storage.ArtifactError, match="missing from the artifact store"):
        compiled_of(version)
    path.write_bytes(good)
    assert len(compiled_of(version).predict(many_rows(3))) == 3
    ModelVersion.objects.filter(pk=version.pk).update(
        compiled_toolchain={**version.compiled_toolchain, "machine": "aarch64"}
    )
    version.refresh_from_db()
    with pytest.raises(native.BuiltElsewhere, match="built for aarch64"):
        compiled_of(version)
    ModelVersion.objects.filter(pk=version.pk).update(
        compiled_toolchain={
            **version.compiled_toolchain,
            "machine": platform.machine(),
            "tl2cgen": "0.9",
        }
    )
    version.refresh_from_db()
    with pytest.raises(native.BuiltElsewhere, match=r"tl2cgen 0\.9"):
        compiled_of(version)


def test_the_database_refuses_a_partial_or_misplaced_compiled_record():
    from django.db import IntegrityError, transaction

    version = register(factories.sklearn_pipeline(), "edge", features=",".join(factories.FEATURES))
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=version.pk).update(
            compiled_path="artifacts/aa/x.so", compiled_sha256="a" * 64, compiled_size=10
        )
    xgb = register(factories.xgboost_model(), "edge-xgb")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=xgb.pk).update(compiled_sha256="a" * 64)


# -- at the split thresholds, with missing values, and values float32 cannot hold ------------


def split_thresholds(version: ModelVersion) -> list[tuple[int, float]]:
    """(feature, threshold) of every numerical split, from treelite's dump of the model."""
    import json

    import treelite

    booster = booster_of(version).booster
    if version.framework == "xgboost":
        model = treelite.frontend.from_xgboost(booster)
    else:
        model = treelite.frontend.from_lightgbm(booster)
    dump = json.loads(model.dump_as_json())
    return sorted(
        {
            (node["split_feature_id"], float(node["threshold"]))
            for tree in dump["trees"]
            for node in tree["nodes"]
            if "threshold" in node
        }
    )


def at_the_thresholds(version: ModelVersion, base: np.ndarray) -> tuple[np.ndarray, int]:
    """For each split: ``base`` rows with the split's feature exactly at its threshold,
    and at the nearest value below and above it in the model's precision (XGBoost
    compares in float32, LightGBM in float64). Returns the rows and the number of splits."""
    precision = np.float32 if version.framework == "xgboost" else np.float64
    rows = []
    splits = split_thresholds(version)
    for feature, threshold in splits:
        at = precision(threshold)
        for value in (
            np.nextafter(at, precision(-np.inf)),
            at,
            np.nextafter(at, precision(np.inf)),
        ):
            block = base.copy()
            block[:, feature] = float(value)
            rows.append(block)
    return np.concatenate(rows), len(splits)


@needs_gcc
@pytest.mark.parametrize(
    "trainer",
    [factories.xgboost_model, factories.lightgbm_model],
    ids=["xgboost", "lightgbm"],
)
def test_rows_exactly_at_every_split_threshold_agree_to_1e6(trainer):
    version = register(trainer(), "edge")
    run("compile_model", "edge", "1")
    version.refresh_from_db()
    base = factories.probe_rows(4, seed=5)
    base[2, 0] = np.nan  # one base row missing a feature, one missing all of them
    base[3, :] = np.nan
    rows, splits = at_the_thresholds(version, base)
    assert splits > 20, "a model with many splits"
    compiled = np.array(compiled_of(version).predict(rows))
    booster = np.array(booster_of(version).predict(rows))
    assert np.abs(compiled - booster).max() <= 1e-6
    # Not vacuous: some rows change side at the threshold (the branch the two take
    # differs between a value and its neighbour), and the compiled side follows.
    by_split = booster.reshape(splits, 3, len(base))
    assert (by_split[:, 0] != by_split[:, 2]).any(), "crossing a threshold changes answers"
    assert np.isfinite(compiled).all()


@needs_gcc
@pytest.mark.parametrize(
    "trainer",
    [factories.xgboost_model, factories.lightgbm_model],
    ids=["xgboost", "lightgbm"],
)
def test_missing_and_extreme_values_agree_with_the_booster(trainer):
    """All missing, one missing at a time, and finite values beyond float32 (the JSON
    API accepts 1e300; XGBoost's float32 turns it into infinity on both sides)."""
    version = register(trainer(), "edge")
    run("compile_model", "edge", "1")
    version.refresh_from_db()
    base = factories.probe_rows(3, seed=9)
    n = base.shape[1]
    rows = [np.full((1, n), np.nan)]
    for feature in range(n):
        for value in (np.nan, 0.0, -0.0, 1e300, -1e300, 3.5e38, -3.5e38, 1e-310):
            block = base.copy()
            block[:, feature] = value
            rows.append(block)
    rows = np.concatenate(rows)
    compiled = np.array(compiled_of(version).predict(rows))
    booster = np.array(booster_of(version).predict(rows))
    assert np.isfinite(booster).all()
    assert np.abs(compiled - booster).max() <= 1e-6


@needs_gcc
def test_the_stored_library_is_private_and_the_loading_copy_is_gone(artifact_store):
    import stat
    import tempfile
    from pathlib import Path

    version = register(factories.xgboost_model(), "edge")
    run("compile_model", "edge", "1")
    version.refresh_from_db()
    mode = stat.S_IMODE((artifact_store / version.compiled_path).stat().st_mode)
    assert mode & 0o022 == 0, f"no one else may write the library ({oct(mode)})"
    before = set(Path(tempfile.gettempdir()).glob("compiled-predictor-*"))
    predictor = compiled_of(version)
    assert len(predictor.predict(many_rows(2))) == 2
    assert set(Path(tempfile.gettempdir()).glob("compiled-predictor-*")) == before
