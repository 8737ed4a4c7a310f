"""Loaders: verified artifact bytes in, a Predictor out, one per framework.

Every predictor answers ``predict(rows) -> list[float]`` for a 2-D float64 array whose
columns follow the version's feature schema, and is set up for low latency: one thread
per prediction (gunicorn runs one worker per core; OpenMP threads on top would fight
over the same cores), XGBoost's ``inplace_predict`` (no DMatrix per request).

``inspect`` reads what registration needs from a model: its feature names and types
where the format carries them, the number of features and the kind of output.

No Django import here.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

XGBOOST = "xgboost"
LIGHTGBM = "lightgbm"
SKLEARN_JOBLIB = "sklearn-joblib"
FRAMEWORKS = (XGBOOST, LIGHTGBM, SKLEARN_JOBLIB)

# File name endings accepted per framework, and the one a stored artifact gets.
EXTENSIONS = {
    ".json": XGBOOST,
    ".ubj": XGBOOST,
    ".txt": LIGHTGBM,
    ".lgb": LIGHTGBM,
    ".joblib": SKLEARN_JOBLIB,
    ".pkl": SKLEARN_JOBLIB,
    ".pickle": SKLEARN_JOBLIB,
}
# LightGBM names unnamed columns Column_0, Column_1 ...: that is no schema.
_LIGHTGBM_DEFAULT_NAME = re.compile(r"^Column_\d+$")
_XGBOOST_TYPES = {"float": "float", "q": "float", "int": "int", "i": "bool", "c": "category"}


class LoadError(Exception):
    """The bytes are not a usable model of the framework; the message says why."""


@dataclass(frozen=True)
class ModelInfo:
    n_features: int
    feature_names: list[str] | None
    feature_types: list[str] | None
    output_kind: str  # "probability" or "value"


class Predictor(ABC):
    """A loaded model: ``predict`` takes rows in schema order, gives one float per row."""

    framework: str

    @abstractmethod
    def predict(self, rows: np.ndarray) -> list[float]: ...

    @abstractmethod
    def info(self) -> ModelInfo: ...


class XGBoostPredictor(Predictor):
    framework = XGBOOST

    def __init__(self, data: bytes, *, threads: int = 1):
        import xgboost

        self.booster = xgboost.Booster()
        try:
            # bytearray: XGBoost reads a raw JSON or UBJ buffer from memory.
            self.booster.load_model(bytearray(data))
        except xgboost.core.XGBoostError as exc:
            raise LoadError(f"not an XGBoost model (JSON or UBJ): {_first_line(exc)}") from None
        self.booster.set_param({"nthread": threads})
        config = json.loads(self.booster.save_config())
        self.objective = config["learner"]["objective"]["name"]

    def predict(self, rows: np.ndarray) -> list[float]:
        # validate_features=False: the API has already put the columns in schema order.
        out = self.booster.inplace_predict(rows, validate_features=False)
        return out.astype(np.float64, copy=False).tolist()

    def info(self) -> ModelInfo:
        if self.objective.startswith("multi:"):
            raise LoadError(f"objective {self.objective} has several outputs per row: unsupported")
        names = self.booster.feature_names
        types = self.booster.feature_types
        return ModelInfo(
            n_features=self.booster.num_features(),
            feature_names=list(names) if names else None,
            feature_types=[_XGBOOST_TYPES.get(t, "float") for t in types] if types else None,
            output_kind="probability"
            if self.objective in {"binary:logistic", "reg:logistic"}
            else "value",
        )


class LightGBMPredictor(Predictor):
    framework = LIGHTGBM

    def __init__(self, data: bytes, *, threads: int = 1):
        import lightgbm

        self.threads = threads
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise LoadError("not a LightGBM text model (the file is not UTF-8 text)") from None
        if not text.startswith("tree\n"):
            raise LoadError("not a LightGBM text model (it does not start with 'tree')")
        try:
            self.booster = lightgbm.Booster(model_str=text)
        except lightgbm.basic.LightGBMError as exc:
            raise LoadError(f"not a LightGBM text model: {_first_line(exc)}") from None
        match = re.search(r"^objective=(\S+)", text, re.MULTILINE)
        self.objective = match.group(1) if match else ""

    def predict(self, rows: np.ndarray) -> list[float]:
        out = self.booster.predict(rows, num_threads=self.threads)
        return np.asarray(out, dtype=np.float64).tolist()

    def info(self) -> ModelInfo:
        if self.booster.num_model_per_iteration() != 1:
            raise LoadError(f"objective {self.objective} has several outputs per row: unsupported")
        names = self.booster.feature_name()
        if names and all(_LIGHTGBM_DEFAULT_NAME.match(name) for name in names):
            names = None
        return ModelInfo(
            n_features=self.booster.num_feature(),
            feature_names=names,
            feature_types=None,
            output_kind="probability"
            if self.objective in {"binary", "cross_entropy", "xentropy"}
            else "value",
        )


class SklearnPredictor(Predictor):
    """A scikit-learn estimator or pipeline (or anything with its API) saved with joblib.

    joblib runs code while it loads: only call this on bytes that registration accepted
    from staff and that passed the hash check (models_registry.services enforces both).
    """

    framework = SKLEARN_JOBLIB

    def __init__(self, data: bytes, *, threads: int = 1):
        import joblib

        try:
            self.estimator = joblib.load(io.BytesIO(data))
        except Exception as exc:  # unpickling raises anything at all
            raise LoadError(
                f"not a joblib file: {type(exc).__name__}: {_first_line(exc)}"
            ) from None
        if not hasattr(self.estimator, "predict"):
            kind = type(self.estimator).__name__
            raise LoadError(f"the joblib file holds a {kind}, which has no predict()")
        proba = getattr(self.estimator, "predict_proba", None)
        classes = getattr(self.estimator, "classes_", None)
        self.uses_proba = proba is not None and classes is not None and len(classes) == 2
        # Fitted on a DataFrame: it warns on every plain array; the API orders columns itself.
        self.named = getattr(self.estimator, "feature_names_in_", None) is not None

    def predict(self, rows: np.ndarray) -> list[float]:
        with warnings.catch_warnings():
            if self.named:
                warnings.filterwarnings("ignore", message="X does not have valid feature names")
            if self.uses_proba:
                out = self.estimator.predict_proba(rows)[:, 1]
            else:
                out = self.estimator.predict(rows)
        return np.asarray(out, dtype=np.float64).reshape(len(rows)).tolist()

    def info(self) -> ModelInfo:
        classes = getattr(self.estimator, "classes_", None)
        if classes is not None and len(classes) > 2:
            raise LoadError(f"a classifier of {len(classes)} classes: only binary is supported")
        names = getattr(self.estimator, "feature_names_in_", None)
        n_features = getattr(self.estimator, "n_features_in_", None)
        if n_features is None:
            raise LoadError(
                "the estimator does not say how many features it takes (n_features_in_)"
            )
        return ModelInfo(
            n_features=int(n_features),
            feature_names=[str(name) for name in names] if names is not None else None,
            feature_types=None,
            output_kind="probability" if self.uses_proba else "value",
        )


_PREDICTORS: dict[str, type[Predictor]] = {
    XGBOOST: XGBoostPredictor,
    LIGHTGBM: LightGBMPredictor,
    SKLEARN_JOBLIB: SklearnPredictor,
}


def load(framework: str, data: bytes, *, threads: int = 1) -> Predictor:
    """A predictor for verified artifact bytes; LoadError if they are not such a model."""
    try:
        cls = _PREDICTORS[framework]
    except KeyError:
        known = ", ".join(FRAMEWORKS)
        raise LoadError(f"unknown framework {framework!r}; use one of {known}") from None
    if not data:
        # XGBoost aborts the whole process on an empty buffer (std::terminate).
        raise LoadError("the model file is empty")
    return cls(data, threads=threads)


def detect_framework(data: bytes, filename: str) -> str:
    """The framework of a model file, from its name's ending and its first bytes."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    head = data[:64]
    if head.startswith(b"tree\n"):
        return LIGHTGBM
    if head.lstrip().startswith(b"{"):
        return XGBOOST
    raise LoadError(
        f"cannot tell the framework of {filename!r}: name it .json/.ubj (XGBoost), "
        ".txt (LightGBM) or .joblib (scikit-learn), or pass the framework explicitly"
    )


def extension_for(framework: str, filename: str) -> str:
    """The stored artifact's file ending: the upload's own when it fits the framework."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if EXTENSIONS.get(suffix) == framework:
        return suffix
    return {XGBOOST: ".json", LIGHTGBM: ".txt", SKLEARN_JOBLIB: ".joblib"}[framework]


def check_predicts(predictor: Predictor, n_features: int) -> None:
    """One prediction on a row of zeros: one finite-or-NaN float back, or LoadError."""
    try:
        out = predictor.predict(np.zeros((1, n_features), dtype=np.float64))
    except Exception as exc:  # a model that cannot predict is refused, whatever it raises
        raise LoadError(
            f"the model fails to predict a row of {n_features} features: "
            f"{type(exc).__name__}: {_first_line(exc)}"
        ) from None
    if len(out) != 1 or not isinstance(out[0], float):
        raise LoadError("the model does not give one number per row: unsupported")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
