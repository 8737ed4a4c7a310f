"""Training: small XGBoost and LightGBM models on trade signals, evaluated and registered.

The data comes from the journal when it holds enough closed trades with signals (the
label is a winning trade, pnl > 0; the features are the numeric signals most trades
carry), else from a built-in synthetic set of the same kind. The journal is optional:
without its Trade model, or with too few trades, training says why in the log and uses
the synthetic set. Training takes seconds: it feeds the demo and the test suite.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.apps import apps
from django.db import DatabaseError

from models_registry.errors import RegistryError
from models_registry.models import ModelVersion, Task
from models_registry.services import TrainingWindow, model_register_file

logger = logging.getLogger(__name__)

SYNTHETIC_FEATURES = [
    "rsi_14",
    "macd_hist",
    "atr_pct",
    "trend_strength",
    "volume_zscore",
    "spread_bps",
    "hour_of_day",
    "signal_confidence",
]
MIN_JOURNAL_TRADES = 200
# A signal becomes a feature when at least this share of the trades carries it.
MIN_SIGNAL_COVERAGE = 0.8
SOURCES = ("auto", "journal", "synthetic")
FRAMEWORKS = ("xgboost", "lightgbm")


@dataclass
class Dataset:
    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    source: str
    window: TrainingWindow


def synthetic_dataset(*, rows: int = 4000, seed: int = 7) -> Dataset:
    """Trade signals with a win/loss label that depends on them, plus noise."""
    rng = np.random.default_rng(seed)
    rsi = rng.uniform(10, 90, rows)
    macd = rng.normal(0, 1, rows)
    atr = rng.uniform(0.2, 3.0, rows)
    trend = rng.uniform(0, 1, rows)
    volume = rng.normal(0, 1, rows)
    spread = rng.uniform(0.5, 5.0, rows)
    hour = rng.integers(0, 24, rows).astype(np.float64)
    confidence = rng.uniform(0, 1, rows)
    logit = (
        0.035 * (rsi - 50)
        + 0.9 * macd
        + 1.8 * (trend - 0.5)
        - 0.35 * (spread - 2.5)
        + 1.4 * (confidence - 0.5)
        + 0.4 * np.sin(hour / 24 * 2 * np.pi)
        - 0.25 * np.abs(volume) * (atr > 2)
    )
    y = (logit + rng.logistic(0, 1, rows) > 0).astype(np.int64)
    x = np.column_stack([rsi, macd, atr, trend, volume, spread, hour, confidence])
    return Dataset(x, y, list(SYNTHETIC_FEATURES), "synthetic", TrainingWindow(None, None))


def journal_dataset(*, limit: int = 200_000) -> tuple[Dataset | None, str]:
    """Closed journal trades as (signals → win) rows, or None and the reason why not."""
    if not apps.is_installed("journal"):
        return None, "the journal app is not installed"
    try:
        trade_model = apps.get_model("journal", "Trade")
    except LookupError:
        return None, "the journal has no Trade model yet"
    fields = {f.name for f in trade_model._meta.get_fields()}
    time_field = "closed_at" if "closed_at" in fields else "executed_at"
    if not {"signals", "pnl", time_field} <= fields:
        return None, "journal trades carry no signals and pnl"
    try:
        records = list(
            trade_model.objects.exclude(pnl=None)
            .exclude(signals=None)
            .order_by(time_field)
            .values_list("signals", "pnl", time_field)[:limit]
        )
    except DatabaseError as exc:
        return None, f"the journal cannot be read ({type(exc).__name__})"
    if len(records) < MIN_JOURNAL_TRADES:
        return None, f"{len(records)} closed trades with signals; {MIN_JOURNAL_TRADES} needed"
    counts: dict[str, int] = {}
    for signals, _, _ in records:
        for key, value in (signals or {}).items() if isinstance(signals, dict) else ():
            if isinstance(value, int | float) and not isinstance(value, bool):
                counts[key] = counts.get(key, 0) + 1
    names = sorted(k for k, c in counts.items() if c >= MIN_SIGNAL_COVERAGE * len(records))
    if not names:
        return None, "no numeric signal is carried by most closed trades"
    x = np.array(
        [[_number((s or {}).get(n)) for n in names] for s, _, _ in records], dtype=np.float64
    )
    y = np.array([1 if float(pnl) > 0 else 0 for _, pnl, _ in records], dtype=np.int64)
    if y.min() == y.max():
        return None, "every closed trade has the same outcome: nothing to learn"
    window = TrainingWindow(records[0][2], records[-1][2])
    return Dataset(x, y, names, "journal", window), f"{len(records)} closed trades"


def _number(value) -> float:
    """A signal value as float; missing or non-numeric is NaN, which trees treat as missing."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return float("nan")


def load_dataset(*, source: str = "auto", rows: int = 4000, seed: int = 7) -> Dataset:
    """The training set from ``source`` (auto: the journal when it can, else synthetic)."""
    if source not in SOURCES:
        raise RegistryError(f"source must be one of {', '.join(SOURCES)}", field="source")
    if source in {"auto", "journal"}:
        dataset, reason = journal_dataset()
        if dataset is not None:
            logger.info("training on the journal", extra={"detail": reason})
            return dataset
        if source == "journal":
            raise RegistryError(f"cannot train on the journal: {reason}", field="source")
        logger.info("training on the synthetic set", extra={"reason": reason})
    return synthetic_dataset(rows=rows, seed=seed)


def select_features(dataset: Dataset, features: list[str]) -> Dataset:
    """The dataset with only ``features``, in that order (a model on fewer signals)."""
    unknown = [name for name in features if name not in dataset.feature_names]
    if unknown:
        raise RegistryError(
            f"the {dataset.source} data has no feature {unknown[0]!r}; it has "
            f"{', '.join(dataset.feature_names)}",
            field="features",
        )
    if len(set(features)) != len(features):
        raise RegistryError("a feature is named twice", field="features")
    columns = [dataset.feature_names.index(name) for name in features]
    return Dataset(dataset.x[:, columns], dataset.y, list(features), dataset.source, dataset.window)


def split(dataset: Dataset, *, seed: int, holdout: float = 0.25):
    """Train and holdout indices; time order is kept for journal data (no look-ahead)."""
    n = len(dataset.y)
    cut = int(n * (1 - holdout))
    if dataset.source == "journal":
        order = np.arange(n)
    else:
        order = np.random.default_rng(seed).permutation(n)
    return order[:cut], order[cut:]


def evaluate(y_true: np.ndarray, probability: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    return {
        "auc": round(float(roc_auc_score(y_true, probability)), 4),
        "logloss": round(float(log_loss(y_true, probability, labels=[0, 1])), 4),
        "accuracy": round(float(accuracy_score(y_true, probability >= 0.5)), 4),
        "holdout_rows": len(y_true),
        "positive_rate": round(float(np.mean(y_true)), 4),
    }


def fit_xgboost(dataset: Dataset, train: np.ndarray, *, rounds: int, depth: int, seed: int):
    import xgboost

    matrix = xgboost.DMatrix(
        dataset.x[train], label=dataset.y[train], feature_names=dataset.feature_names
    )
    params = {
        "objective": "binary:logistic",
        "max_depth": depth,
        "eta": 0.1,
        "nthread": 1,
        "seed": seed,
        "eval_metric": "logloss",
    }
    booster = xgboost.train(params, matrix, num_boost_round=rounds)
    return booster, lambda rows: booster.inplace_predict(rows, validate_features=False)


def fit_lightgbm(dataset: Dataset, train: np.ndarray, *, rounds: int, depth: int, seed: int):
    import lightgbm

    data = lightgbm.Dataset(
        dataset.x[train], label=dataset.y[train], feature_name=dataset.feature_names
    )
    params = {
        "objective": "binary",
        "num_leaves": min(2**depth, 63),
        "learning_rate": 0.1,
        "num_threads": 1,
        "seed": seed,
        "deterministic": True,
        "verbose": -1,
    }
    booster = lightgbm.train(params, data, num_boost_round=rounds)
    return booster, lambda rows: booster.predict(rows, num_threads=1)


def model_train(
    *,
    name: str = "trade-outcome",
    frameworks: tuple[str, ...] = FRAMEWORKS,
    source: str = "auto",
    rows: int = 4000,
    rounds: int = 100,
    depth: int = 4,
    seed: int = 7,
    alias: str | None = None,
    features: list[str] | None = None,
    confirm_breaking: bool = False,
    move_reason: str = "",
) -> list[ModelVersion]:
    """Train one model per framework, evaluate it on a holdout, register it as the next
    version of ``<name>-<framework>`` with its metrics, and move ``alias`` to it.

    ``features``: train on these of the data's features only, in this order. A move of
    ``alias`` that breaks its clients needs ``confirm_breaking`` and ``move_reason``
    (models_registry.services.alias_move)."""
    unknown = sorted(set(frameworks) - set(FRAMEWORKS))
    if unknown or not frameworks:
        raise RegistryError(f"frameworks must be among {', '.join(FRAMEWORKS)}", field="frameworks")
    dataset = load_dataset(source=source, rows=rows, seed=seed)
    if features:
        dataset = select_features(dataset, features)
    train, holdout = split(dataset, seed=seed)
    versions = []
    with tempfile.TemporaryDirectory(prefix="train-") as scratch:
        for framework in frameworks:
            fit = fit_xgboost if framework == "xgboost" else fit_lightgbm
            booster, predict = fit(dataset, train, rounds=rounds, depth=depth, seed=seed)
            metrics = evaluate(dataset.y[holdout], np.asarray(predict(dataset.x[holdout])))
            metrics.update(source=dataset.source, train_rows=len(train), rounds=rounds)
            path = Path(scratch) / ("model.json" if framework == "xgboost" else "model.txt")
            booster.save_model(str(path))
            version = model_register_file(
                path=path,
                name=f"{name}-{framework}",
                framework=framework,
                alias=alias,
                task=Task.BINARY_CLASSIFICATION,
                description=f"{framework} on {dataset.source} trade signals, "
                f"{rounds} rounds, depth {depth}",
                metrics=metrics,
                training_window=dataset.window,
                # The rows it learnt from: the baseline of its drift in production.
                reference=dataset.x[train],
                reference_source=f"training ({dataset.source})",
                confirm_breaking=confirm_breaking,
                move_reason=move_reason,
            )
            logger.info(
                "model trained",
                extra={"model": version.model.name, "version": version.version, **metrics},
            )
            versions.append(version)
    return versions
