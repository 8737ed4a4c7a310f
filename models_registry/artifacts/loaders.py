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
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

XGBOOST = "xgboost"
LIGHTGBM = "lightgbm"
SKLEARN_JOBLIB = "sklearn-joblib"
SKLEARN_SKOPS = "sklearn-skops"
ONNX = "onnx"
FRAMEWORKS = (XGBOOST, LIGHTGBM, SKLEARN_SKOPS, SKLEARN_JOBLIB, ONNX)

# File name endings accepted per framework, and the one a stored artifact gets.
EXTENSIONS = {
    ".json": XGBOOST,
    ".ubj": XGBOOST,
    ".txt": LIGHTGBM,
    ".lgb": LIGHTGBM,
    ".skops": SKLEARN_SKOPS,
    ".joblib": SKLEARN_JOBLIB,
    ".pkl": SKLEARN_JOBLIB,
    ".pickle": SKLEARN_JOBLIB,
    ".onnx": ONNX,
}
# Types a .skops file may hold beyond what skops.io trusts by itself (every public
# scikit-learn estimator, numpy arrays, builtin containers and primitives). Each entry is
# the fitted state of an estimator this server serves, rebuilt from arrays and numbers by
# scikit-learn's own __setstate__; nothing here calls a function named by the file.
# A file that holds any other untrusted type (a FunctionTransformer's function, a class
# of its author's, builtins.eval ...) is refused before anything of it is built.
SKOPS_TRUSTED_TYPES = (
    # The trees of DecisionTree*, RandomForest*, ExtraTrees* and GradientBoosting*.
    "sklearn.tree._tree.Tree",
    # The trees of HistGradientBoostingClassifier / Regressor.
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # CalibratedClassifierCV's fitted calibrators (sigmoid; isotonic is an estimator).
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # The dtypes that imputers, scalers and encoders record (np.dtype("float64") ...).
    "numpy.dtype",
)
# A .skops file is a zip: refuse one that would unpack to more than this in memory.
SKOPS_MAX_UNPACKED_BYTES = 2 * 1024**3
# LightGBM names unnamed columns Column_0, Column_1 ...: that is no schema.
_LIGHTGBM_DEFAULT_NAME = re.compile(r"^Column_\d+$")
_XGBOOST_TYPES = {"float": "float", "q": "float", "int": "int", "i": "bool", "c": "category"}


class LoadError(Exception):
    """The bytes are not a usable model of the framework; the message says why."""


@dataclass(frozen=True)
class Tensor:
    """One input or output tensor as the Open Inference Protocol names it.

    ``shape`` leaves out the batch dimension (rows); -1 is a dimension of any size.
    """

    name: str
    datatype: str  # FP32, FP64, INT64 ... (the V2 names)
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Signature:
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]


# What a tensor may be named: letters, digits and the punctuation networks exported from
# PyTorch, TensorFlow and Keras use ("input.1", "onnx::Gemm_5", "serving_default_x:0",
# "/dense/Sigmoid_output_0"). Nothing that quotes, escapes or breaks a line: the names
# are written into generated configurations (models_registry.artifacts.export's config.pbtxt).
SAFE_TENSOR_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")


def unsafe_tensor_name(signature: Signature) -> str | None:
    """Why a tensor of ``signature`` may not be written into a generated configuration
    (its name is outside SAFE_TENSOR_NAME), or None when every name is safe."""
    for kind, tensors in (("input", signature.inputs), ("output", signature.outputs)):
        for tensor in tensors:
            if not SAFE_TENSOR_NAME.fullmatch(tensor.name):
                return (
                    f"the model's {kind} tensor is named {tensor.name[:80]!r}: a tensor name "
                    "is 1 to 128 letters, digits and _ . : / - (it is written into Triton's "
                    "configuration when the model is exported)"
                )
    return None


def tabular_signature(n_features: int, *, output_datatype: str = "FP64") -> Signature:
    """The tensors of a tree model: one FP32 matrix in, one value per row out.

    The names and the FP32 input are Triton's FIL backend's (input__0, output__0), so
    that a client written against this server keeps working against an exported
    Triton repository (models_registry.artifacts.export).
    """
    return Signature(
        inputs=(Tensor("input__0", "FP32", (n_features,)),),
        outputs=(Tensor("output__0", output_datatype, (1,)),),
    )


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

    def signature(self) -> Signature:
        """The tensors the Open Inference Protocol (V2) shows for this model."""
        return tabular_signature(self.info().n_features)


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


class EstimatorPredictor(Predictor):
    """A scikit-learn estimator or pipeline (or anything with its API), already loaded."""

    def __init__(self, estimator, *, file_kind: str):
        self.estimator = estimator
        if not hasattr(self.estimator, "predict"):
            kind = type(self.estimator).__name__
            raise LoadError(f"the {file_kind} file holds a {kind}, which has no predict()")
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


class SkopsPredictor(EstimatorPredictor):
    """A scikit-learn model saved with ``skops.io.dump``: loading runs no code of the file's.

    skops reads a zip of JSON and numpy arrays and builds only objects of trusted types
    (its own defaults and SKOPS_TRUSTED_TYPES). The file's types are audited first; any
    other type is refused by name before a single object is built.
    """

    framework = SKLEARN_SKOPS

    def __init__(self, data: bytes, *, threads: int = 1):
        import skops.io

        _check_zip(data)
        try:
            untrusted = skops.io.get_untrusted_types(data=data)
        except Exception as exc:  # a damaged zip or schema raises anything at all
            raise LoadError(f"not a skops file: {type(exc).__name__}: {_first_line(exc)}") from None
        refused = sorted(set(untrusted) - set(SKOPS_TRUSTED_TYPES))
        if refused:
            raise LoadError(
                f"the skops file holds types this server does not trust: {', '.join(refused)}; "
                "nothing of it was loaded. Save a model built from scikit-learn's estimators "
                "and pipelines, or export it to ONNX (.onnx)"
            )
        try:
            estimator = skops.io.loads(data, trusted=list(SKOPS_TRUSTED_TYPES))
        except Exception as exc:  # the audit passed; anything else is a broken file
            raise LoadError(f"not a skops file: {type(exc).__name__}: {_first_line(exc)}") from None
        super().__init__(estimator, file_kind="skops")


def _check_zip(data: bytes) -> None:
    """A zip whose members fit in memory (a .skops file is a zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise LoadError(f"not a skops file (not a zip: {_first_line(exc)})") from None
    if unpacked > SKOPS_MAX_UNPACKED_BYTES:
        raise LoadError(
            f"the skops file unpacks to {unpacked:,} bytes; at most "
            f"{SKOPS_MAX_UNPACKED_BYTES:,} are read"
        )


class PicklePredictor(EstimatorPredictor):
    """A scikit-learn estimator or pipeline saved with joblib (pickle).

    Unpickling runs whatever code the file names: ``load`` builds this only when the
    caller says the pickle is trusted (an operator's ``--trust-pickle``, recorded on the
    version, and the hash checked first: models_registry.services enforces both).
    """

    framework = SKLEARN_JOBLIB

    def __init__(self, data: bytes, *, threads: int = 1):
        import joblib

        try:
            estimator = joblib.load(io.BytesIO(data))
        except Exception as exc:  # unpickling raises anything at all
            raise LoadError(
                f"not a joblib file: {type(exc).__name__}: {_first_line(exc)}"
            ) from None
        super().__init__(estimator, file_kind="joblib")


_ORT_TYPES = {"tensor(float)": ("FP32", np.float32), "tensor(double)": ("FP64", np.float64)}


class ONNXPredictor(Predictor):
    """A neural (or any) model in ONNX, run by ONNX Runtime on the CPU.

    Loading runs no code of the file's: ONNX is a protobuf of operators that ONNX
    Runtime implements itself (no custom-operator library is registered). A model that
    keeps tensors in external files is refused, so that a model cannot make the server
    read a file of its choosing. The model takes one float tensor whose first dimension
    is the batch; the rest (an LSTM's time steps times features, say) holds the
    version's features in row-major order, so a row of the API is reshaped into it. It
    gives one value per row. The file's metadata may carry ``feature_names``
    (comma-separated) and ``output_kind``.
    """

    framework = ONNX

    def __init__(self, data: bytes, *, threads: int = 1):
        import onnx
        import onnxruntime

        try:
            model = onnx.load_model_from_string(data)
        except Exception as exc:  # protobuf raises DecodeError, or anything on odd bytes
            raise LoadError(f"not an ONNX model: {type(exc).__name__}") from None
        if not model.graph.node:
            raise LoadError("not an ONNX model: the graph has no operator")
        if _has_external_data(model):
            raise LoadError("the ONNX model keeps tensors in external files: refused")
        self.metadata = {p.key: p.value for p in model.metadata_props}
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only, not the graph optimizer's notes
        try:
            self.session = onnxruntime.InferenceSession(
                data, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph ...
            raise LoadError(f"ONNX Runtime cannot load the model: {_first_line(exc)}") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1:
            raise LoadError(f"the ONNX model takes {len(inputs)} inputs; one is supported")
        self.input = inputs[0]
        self.output = outputs[0]
        if self.input.type not in _ORT_TYPES or self.output.type not in _ORT_TYPES:
            raise LoadError(
                f"the ONNX model's input is {self.input.type} and output {self.output.type}; "
                "float or double tensors are supported"
            )
        self.input_dims = self._fixed_dims(self.input.shape, "input")
        self.output_dims = self._fixed_dims(self.output.shape, "output")
        self.n_features = int(np.prod(self.input_dims)) if self.input_dims else 1
        if int(np.prod(self.output_dims)) != 1:
            raise LoadError(
                f"the ONNX model's output has shape {self.output.shape}: one value per row "
                "is supported"
            )
        self.input_dtype = _ORT_TYPES[self.input.type][1]

    @staticmethod
    def _fixed_dims(shape: list, which: str) -> tuple[int, ...]:
        """The dimensions after the batch one, which must all be fixed."""
        if not shape:
            raise LoadError(f"the ONNX model's {which} has no batch dimension")
        rest = tuple(shape[1:])
        if not all(isinstance(d, int) and d > 0 for d in rest):
            raise LoadError(
                f"the ONNX model's {which} has shape {shape}: all but the first (batch) "
                "dimension must be fixed"
            )
        return rest

    def predict(self, rows: np.ndarray) -> list[float]:
        batch = np.ascontiguousarray(rows, dtype=self.input_dtype).reshape(
            (len(rows), *self.input_dims)
        )
        out = self.session.run([self.output.name], {self.input.name: batch})[0]
        return np.asarray(out, dtype=np.float64).reshape(len(rows)).tolist()

    def info(self) -> ModelInfo:
        names = [n.strip() for n in self.metadata.get("feature_names", "").split(",")]
        names = [n for n in names if n]
        if names and len(names) != self.n_features:
            raise LoadError(
                f"the ONNX metadata names {len(names)} features; the input holds {self.n_features}"
            )
        kind = self.metadata.get("output_kind", "value")
        return ModelInfo(
            n_features=self.n_features,
            feature_names=names or None,
            feature_types=None,
            output_kind=kind if kind in {"probability", "value"} else "value",
        )

    def signature(self) -> Signature:
        return Signature(
            inputs=(Tensor(self.input.name, _ORT_TYPES[self.input.type][0], self.input_dims),),
            outputs=(Tensor(self.output.name, _ORT_TYPES[self.output.type][0], self.output_dims),),
        )


def _has_external_data(model) -> bool:
    """Any initializer (in the graph or a subgraph) stored outside the file."""
    import onnx

    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        for tensor in graph.initializer:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                return True
        for node in graph.node:
            for attribute in node.attribute:
                if (
                    attribute.HasField("t")
                    and attribute.t.data_location == onnx.TensorProto.EXTERNAL
                ):
                    return True
                if attribute.HasField("g"):
                    graphs.append(attribute.g)
                graphs.extend(attribute.graphs)
    return False


_PREDICTORS: dict[str, type[Predictor]] = {
    XGBOOST: XGBoostPredictor,
    LIGHTGBM: LightGBMPredictor,
    SKLEARN_SKOPS: SkopsPredictor,
    SKLEARN_JOBLIB: PicklePredictor,
    ONNX: ONNXPredictor,
}


class UntrustedPickle(LoadError):
    """A pickle (joblib) that nobody trusted: it is never unpickled."""


def load(
    framework: str, data: bytes, *, threads: int = 1, pickle_trusted: bool = False
) -> Predictor:
    """A predictor for verified artifact bytes; LoadError if they are not such a model.

    A pickle (``sklearn-joblib``) is unpickled only with ``pickle_trusted``: the one
    framework whose loading runs code of the file's.
    """
    try:
        cls = _PREDICTORS[framework]
    except KeyError:
        known = ", ".join(FRAMEWORKS)
        raise LoadError(f"unknown framework {framework!r}; use one of {known}") from None
    if cls is PicklePredictor and not pickle_trusted:
        raise UntrustedPickle(
            "a joblib (pickle) file runs code when it is loaded, and no operator trusted "
            "this one (manage.py register_model --trust-pickle): never loaded"
        )
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
        ".txt (LightGBM), .skops (scikit-learn) or .onnx (ONNX), or pass the framework "
        "explicitly"
    )


def extension_for(framework: str, filename: str) -> str:
    """The stored artifact's file ending: the upload's own when it fits the framework."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if EXTENSIONS.get(suffix) == framework:
        return suffix
    return {
        XGBOOST: ".json",
        LIGHTGBM: ".txt",
        SKLEARN_SKOPS: ".skops",
        SKLEARN_JOBLIB: ".joblib",
        ONNX: ".onnx",
    }[framework]


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
