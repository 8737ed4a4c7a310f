"""Small real models, trained once per test session, and crafted hostile files.

Each trainer returns the artifact's bytes with a probe matrix and the model's own
predictions for it (the booster's, the pipeline's), which the API must reproduce. The
``malicious_*`` builders return files that run code (create ``marker``) if anything
ever loads them: a pickle, and skops files that name a function or a foreign class.
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

# Compiling a tree predictor needs gcc (make test installs it); only its absence skips.
needs_gcc = pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc is not installed: compiling needs it"
)

FEATURES = ["rsi_14", "macd_hist", "atr_pct", "trend_strength", "spread_bps"]


@dataclass(frozen=True)
class Trained:
    data: bytes
    filename: str
    features: list[str]
    probe: np.ndarray  # rows to predict, in schema order
    expected: list[float]  # the model's own predictions for ``probe``


def training_set(rows: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.uniform(10, 90, rows),
            rng.normal(0, 1, rows),
            rng.uniform(0.2, 3, rows),
            rng.uniform(0, 1, rows),
            rng.uniform(0.5, 5, rows),
        ]
    )
    logit = 0.04 * (x[:, 0] - 50) + x[:, 1] + 2 * (x[:, 3] - 0.5) - 0.3 * x[:, 4]
    y = (logit + rng.logistic(0, 1, rows) > 0).astype(int)
    return x, y


def probe_rows(rows: int = 25, seed: int = 11) -> np.ndarray:
    x, _ = training_set(rows, seed)
    # Values with many digits, so that any rounding on the way would show.
    return x + np.random.default_rng(seed).normal(0, 1e-3, x.shape)


@functools.cache
def xgboost_model(*, named: bool = True, rounds: int = 30, seed: int = 0) -> Trained:
    import xgboost

    x, y = training_set(seed=3 + seed)
    names = FEATURES if named else None
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 4, "nthread": 1, "seed": seed},
        xgboost.DMatrix(x, label=y, feature_names=names),
        num_boost_round=rounds,
    )
    probe = probe_rows()
    expected = booster.predict(xgboost.DMatrix(probe, feature_names=names)).tolist()
    data = bytes(booster.save_raw("json"))
    return Trained(data, "model.json", FEATURES, probe, expected)


def feature_columns(x: np.ndarray, features: tuple[str, ...], seed: int) -> np.ndarray:
    """The columns of ``x`` (in FEATURES order) named by ``features``, in that order; a
    name FEATURES does not hold gets a column of noise (a feature the old schema lacks)."""
    rng = np.random.default_rng(100 + seed)
    columns = [
        x[:, FEATURES.index(name)] if name in FEATURES else rng.normal(0, 1, len(x))
        for name in features
    ]
    return np.column_stack(columns)


@functools.cache
def xgboost_on(features: tuple[str, ...], *, seed: int = 0, rounds: int = 30) -> Trained:
    """An XGBoost model on ``features`` (FEATURES reordered, some left out, new ones):
    a version whose schema differs from xgboost_model()'s."""
    import xgboost

    x, y = training_set(seed=3 + seed)
    names = list(features)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 4, "nthread": 1, "seed": seed},
        xgboost.DMatrix(feature_columns(x, features, seed), label=y, feature_names=names),
        num_boost_round=rounds,
    )
    probe = feature_columns(probe_rows(), features, seed)
    expected = booster.predict(xgboost.DMatrix(probe, feature_names=names)).tolist()
    return Trained(bytes(booster.save_raw("json")), "model.json", names, probe, expected)


@functools.cache
def xgboost_ubj_model() -> Trained:
    import xgboost

    x, y = training_set(seed=5)
    booster = xgboost.train(
        {"objective": "reg:squarederror", "max_depth": 3, "nthread": 1},
        xgboost.DMatrix(x, label=y * 10.0, feature_names=FEATURES),
        num_boost_round=20,
    )
    probe = probe_rows()
    expected = booster.predict(xgboost.DMatrix(probe, feature_names=FEATURES)).tolist()
    return Trained(bytes(booster.save_raw("ubj")), "model.ubj", FEATURES, probe, expected)


@functools.cache
def lightgbm_model(*, named: bool = True) -> Trained:
    import lightgbm

    x, y = training_set(seed=4)
    params = {"objective": "binary", "num_leaves": 15, "verbose": -1, "num_threads": 1}
    kwargs = {"feature_name": FEATURES} if named else {}
    booster = lightgbm.train(params, lightgbm.Dataset(x, label=y, **kwargs), num_boost_round=40)
    probe = probe_rows()
    expected = booster.predict(probe).tolist()
    return Trained(booster.model_to_string().encode(), "model.txt", FEATURES, probe, expected)


@functools.cache
def _fitted_pipeline():
    """A scaler and a gradient-boosted classifier, fitted on plain arrays (no names)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = training_set(seed=6)
    pipeline = make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=30))
    pipeline.fit(x, y)
    probe = probe_rows()
    return pipeline, probe, pipeline.predict_proba(probe)[:, 1].tolist()


@functools.cache
def sklearn_pipeline() -> Trained:
    """The pipeline saved with skops.io: what a model manager uploads."""
    import skops.io

    pipeline, probe, expected = _fitted_pipeline()
    return Trained(skops.io.dumps(pipeline), "pipeline.skops", FEATURES, probe, expected)


@functools.cache
def sklearn_pipeline_joblib() -> Trained:
    """The same pipeline pickled with joblib: only an operator's --trust-pickle takes it."""
    import joblib

    pipeline, probe, expected = _fitted_pipeline()
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    return Trained(buffer.getvalue(), "pipeline.joblib", FEATURES, probe, expected)


def marker_code(marker: Path) -> str:
    """Python that leaves proof it ran: the marker file, holding the process id."""
    return f"import os, pathlib; pathlib.Path({str(marker)!r}).write_text(str(os.getpid()))"


class _RunsCodeWhenUnpickled:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (marker_code(self.marker),))


def malicious_pickle(marker: Path) -> bytes:
    """A joblib file whose unpickling runs ``exec`` and creates ``marker``."""
    import joblib

    buffer = io.BytesIO()
    joblib.dump(_RunsCodeWhenUnpickled(marker), buffer)
    return buffer.getvalue()


def malicious_skops_exec(marker: Path) -> bytes:
    """A skops file that asks for ``builtins.exec(code)`` to be called while it loads.

    Hand-written: skops.io.dump never writes this, but a loader that trusted the type
    would run it (ConstructorFromReduceNode calls the named type with the arguments).
    """
    text = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode"}
    schema = {
        "__class__": "exec",
        "__module__": "builtins",
        "__loader__": "ConstructorFromReduceNode",
        "content": {
            "__class__": "tuple",
            "__module__": "builtins",
            "__loader__": "TupleNode",
            "content": [
                {**text, "content": json.dumps(marker_code(marker)), "is_json": True, "__id__": 1}
            ],
            "__id__": 2,
        },
        "protocol": 2,
        "_skops_version": "0.16.0",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return buffer.getvalue()


class Tripwire:
    """A class of the file's author: building it from its state creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __setstate__(self, state):
        exec(marker_code(Path(state["marker"])))  # noqa: S102 - the hostile payload itself
        self.__dict__.update(state)


def malicious_skops_object(marker: Path) -> bytes:
    """A skops file (as skops.io.dump writes it) holding a Tripwire."""
    import skops.io

    return skops.io.dumps(Tripwire(marker))


LSTM_FEATURES = ["ret", "vol"]
LSTM_STEPS = 4


@functools.cache
def onnx_lstm_model(*, seed: int = 0) -> Trained:
    """A one-layer LSTM built with onnx.helper; expected: ONNX Runtime run in-process."""
    import onnxruntime

    from models_registry.artifacts.neural import INPUT_NAME, lstm_feature_names, lstm_onnx

    data = lstm_onnx(features=LSTM_FEATURES, steps=LSTM_STEPS, seed=seed)
    names = lstm_feature_names(LSTM_FEATURES, LSTM_STEPS)
    probe = np.random.default_rng(17 + seed).normal(0, 1, (25, len(names)))
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    batch = probe.astype(np.float32).reshape(len(probe), LSTM_STEPS, len(LSTM_FEATURES))
    expected = session.run(None, {INPUT_NAME: batch})[0].reshape(-1).astype(float).tolist()
    return Trained(data, "lstm.onnx", names, probe, expected)
