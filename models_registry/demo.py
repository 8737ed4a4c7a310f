"""Demo records of the registry: two small trained models and an ONNX LSTM, aliased
`production`; the XGBoost one compiled to a tree predictor where gcc is installed."""

from models_registry import native
from models_registry.compiling import CompileRefused, operator_identity, version_compile
from models_registry.models import ModelAlias, ModelVersion, RegisteredModel
from models_registry.neural import lstm_onnx
from models_registry.services import model_register
from models_registry.training import model_train

DEMO_NAME = "trade-outcome"
LSTM_NAME = f"{DEMO_NAME}-lstm"


def seed() -> str:
    """Train and register an XGBoost and a LightGBM model (seconds) unless they exist,
    and an ONNX LSTM (random weights: it shows a neural model served, not a forecast)."""
    lstm = seed_lstm()
    existing = ModelAlias.objects.filter(
        name="production", model__name__in=[f"{DEMO_NAME}-xgboost", f"{DEMO_NAME}-lightgbm"]
    ).select_related("version__model")
    if existing.count() >= 2:
        kept = ", ".join(str(alias.version) for alias in existing)
        return f"kept {kept} (production), {lstm}, {seed_compiled()}"
    versions = model_train(name=DEMO_NAME, source="synthetic", alias="production")
    trained = ", ".join(f"{v} (AUC {v.metrics['auc']}) production" for v in versions)
    return f"{trained}, {lstm}, {seed_compiled()}"


def seed_compiled() -> str:
    """Compile the production XGBoost version (a second or two) when gcc is installed."""
    version = (
        ModelVersion.objects.select_related("model")
        .filter(aliases__name="production", model__name=f"{DEMO_NAME}-xgboost")
        .first()
    )
    if version is None:
        return "no XGBoost version to compile"
    if version.is_compiled:
        return f"kept {version} compiled"
    if native.compiler_path() is None:
        return (
            f"{version} not compiled: {native.COMPILER} is not installed (compiling needs "
            "it; serving does not)"
        )
    try:
        version_compile(version=version, compiled_by=f"demo, {operator_identity()}")
    except CompileRefused as exc:
        return f"{version} not compiled: {exc}"
    return f"{version} compiled to a tree predictor"


def seed_lstm() -> str:
    if RegisteredModel.objects.filter(name=LSTM_NAME).exists():
        return f"kept {LSTM_NAME}"
    version = model_register(
        name=LSTM_NAME,
        data=lstm_onnx(features=["ret", "vol"], steps=4),
        filename="lstm.onnx",
        alias="production",
        description="A one-layer LSTM over the last 4 bars' return and volatility "
        "(ONNX, random weights: a demo of neural serving).",
    )
    return f"{version} (ONNX LSTM) production"
