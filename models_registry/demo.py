"""Demo records of the registry: two small trained models and an ONNX LSTM, aliased
`production`, a promotion history a newcomer can read and replay, and the production
XGBoost version compiled to a tree predictor where gcc is installed.

The XGBoost model gets a version 2 trained without two of its signals (staging). Its
production alias was moved to it, a breaking move confirmed with a reason, and rolled
back: the model's page shows the history, "Roll back production to v2" and "Move an
alias" to version 2 show the feature-schema diff and the AUC drop.
"""

from models_registry.artifacts import native
from models_registry.artifacts.neural import lstm_onnx
from models_registry.compiling import CompileRefused, operator_identity, version_compile
from models_registry.models import AliasMove, ModelAlias, ModelVersion, RegisteredModel
from models_registry.services import alias_move, alias_rollback, model_register
from models_registry.training import SYNTHETIC_FEATURES, model_train

DEMO_NAME = "trade-outcome"
LSTM_NAME = f"{DEMO_NAME}-lstm"
XGBOOST_NAME = f"{DEMO_NAME}-xgboost"
# Version 2 of the XGBoost model lacks these: clients of version 1 still send them.
DROPPED_SIGNALS = ("rsi_14", "macd_hist")


def seed(now=None) -> str:
    """Train and register an XGBoost and a LightGBM model (seconds) unless they exist,
    an ONNX LSTM (random weights: it shows a neural model served, not a forecast), and
    the XGBoost model's promotion history."""
    lstm = seed_lstm()
    existing = ModelAlias.objects.filter(
        name="production", model__name__in=[XGBOOST_NAME, f"{DEMO_NAME}-lightgbm"]
    ).select_related("version__model")
    if existing.count() >= 2:
        kept = ", ".join(str(alias.version) for alias in existing)
        return f"kept {kept} (production), {lstm}, {seed_promotion_history()}, {seed_compiled()}"
    versions = model_train(name=DEMO_NAME, source="synthetic", alias="production")
    trained = ", ".join(f"{v} (AUC {v.metrics['auc']}) production" for v in versions)
    return f"{trained}, {lstm}, {seed_promotion_history()}, {seed_compiled()}"


def seed_compiled() -> str:
    """Compile the production XGBoost version (a second or two) when gcc is installed."""
    version = (
        ModelVersion.objects.select_related("model")
        .filter(aliases__name="production", model__name=XGBOOST_NAME)
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


def seed_promotion_history() -> str:
    """Version 2 on fewer signals in staging; production moved to it and rolled back."""
    model = RegisteredModel.objects.get(name=XGBOOST_NAME)
    if AliasMove.objects.filter(model=model, rollback_of__isnull=False).exists():
        return f"kept {XGBOOST_NAME}'s promotion history"
    production = ModelAlias.objects.select_related("version").get(model=model, name="production")
    first = production.version
    signals = [name for name in SYNTHETIC_FEATURES if name not in DROPPED_SIGNALS]
    (second,) = model_train(
        name=DEMO_NAME,
        frameworks=("xgboost",),
        source="synthetic",
        features=signals,
        alias="staging",
    )
    dropped = " and ".join(DROPPED_SIGNALS)
    move = alias_move(
        model=model,
        alias="production",
        version=second,
        confirm_breaking=True,
        reason=f"demo: version {second.version} without {dropped}; bots said to be ready",
    )
    alias_rollback(
        model=model,
        alias="production",
        expected_move=move.pk,
        confirm_breaking=True,
        reason=f"demo: the bots still send {dropped}, and the AUC fell from "
        f"{first.metrics['auc']} to {second.metrics['auc']}",
    )
    return (
        f"{second} without {dropped} (staging); production moved to it and rolled back to {first}"
    )
