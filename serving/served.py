"""The version a worker serves: what serving needs of a ModelVersion, detached from the
ORM (resolved by serving.predict.hotswap, loaded by serving.predict.predictors)."""

from __future__ import annotations

from dataclasses import dataclass

from models_registry.compiling import CompiledRecord
from models_registry.models import ModelVersion


@dataclass(frozen=True)
class ServedVersion:
    """What serving needs of a ModelVersion, detached from the ORM."""

    id: int
    model: str
    version: int
    framework: str
    artifact_path: str
    sha256: str
    size: int
    feature_names: tuple[str, ...]
    output_kind: str
    pickle_trusted: bool
    # The version's compiled tree predictor, when an operator compiled it.
    compiled: CompiledRecord | None = None

    @classmethod
    def of(cls, version: ModelVersion) -> ServedVersion:
        return cls(
            id=version.pk,
            model=version.model.name,
            version=version.version,
            framework=version.framework,
            artifact_path=version.artifact_path,
            sha256=version.sha256,
            size=version.size,
            feature_names=tuple(version.feature_names),
            output_kind=version.output_kind,
            # Only a joblib version an operator trusted (or one from before) is unpickled.
            pickle_trusted=version.pickle_trusted,
            compiled=CompiledRecord.of(version),
        )

    @property
    def label(self) -> str:
        return f"{self.model}@{self.version}"
