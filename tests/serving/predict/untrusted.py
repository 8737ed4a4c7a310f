"""A joblib version that no operator trusted, put straight into the registry.

Registration refuses such a file, so this writes what a database edit, a restored
backup or a row the migration left unmarked would hold: the artifact in the store with
its right hash and size, a version row whose ``pickle_trust`` is empty, and an alias on
it. Only the load rule stands between it and the workers.
"""

from models_registry.artifacts import storage
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.services import alias_move


def force_pickle_version(*, data: bytes, name: str, alias: str = "production") -> ModelVersion:
    stored = storage.store_chunks([data], extension=".joblib")
    model = RegisteredModel.objects.create(name=name)
    version = ModelVersion.objects.create(
        model=model,
        version=1,
        framework="sklearn-joblib",
        artifact_path=stored.path,
        sha256=stored.sha256,
        size=stored.size,
        feature_schema=[{"name": "a", "type": "float"}],
        output_kind="value",
    )
    alias_move(model=model, alias=alias, version=version)
    return version
