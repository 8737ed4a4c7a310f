"""Demo records of the registry: two small trained models and an ONNX LSTM, aliased
`production`."""

from models_registry.models import ModelAlias, RegisteredModel
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
        return f"kept {kept} (production), {lstm}"
    versions = model_train(name=DEMO_NAME, source="synthetic", alias="production")
    trained = ", ".join(f"{v} (AUC {v.metrics['auc']}) production" for v in versions)
    return f"{trained}, {lstm}"


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
