"""Demo records of the registry: two small trained models, aliased `production`."""

from models_registry.models import ModelAlias
from models_registry.training import model_train

DEMO_NAME = "trade-outcome"


def seed() -> str:
    """Train and register an XGBoost and a LightGBM model (seconds) unless they exist."""
    existing = ModelAlias.objects.filter(
        name="production", model__name__startswith=f"{DEMO_NAME}-"
    ).select_related("version__model")
    if existing.count() >= 2:
        kept = ", ".join(str(alias.version) for alias in existing)
        return f"kept {kept} (production)"
    versions = model_train(name=DEMO_NAME, source="synthetic", alias="production")
    return ", ".join(f"{v} (AUC {v.metrics['auc']}) production" for v in versions)
