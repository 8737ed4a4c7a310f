"""The registry's models for the engines that take over when one machine is not enough:
a Triton model repository and a KServe InferenceService per aliased model.

  DIR/triton/<model>/config.pbtxt          Triton's model configuration
  DIR/triton/<model>/<version>/model.*     the version's artifact (hash-checked on read)
  DIR/kserve/<model>.yaml                  an InferenceService running that repository

One Triton model per registered model that has the alias (``production`` by default);
its one version directory is the version the alias points at, and ``version_policy``
serves exactly that one. XGBoost and LightGBM go to Triton's FIL backend, ONNX models
to its ONNX Runtime backend, with the tensors this server shows on /v2 (input__0 /
output__0 for trees, the graph's own for ONNX), so a V2 client keeps its requests when
it moves. scikit-learn models (skops or joblib) have no Triton backend and are
skipped, said so: export them to ONNX to serve them there.
Export again after an alias moves.

Every string the configuration quotes is escaped as protobuf's text format requires,
and a version whose tensor names are outside loaders.SAFE_TENSOR_NAME (registered
before registration checked them) is refused, said so: an ONNX input named with
protobuf-text syntax added blocks of its uploader's choosing to config.pbtxt (issue 26,
item 8).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml
from google.protobuf import text_encoding

from models_registry import selectors
from models_registry.artifacts import loaders, storage
from models_registry.models import Framework, ModelVersion

# FIL's batch bound: a request of up to this many rows is one batch.
MAX_BATCH_SIZE = 32768
_TRITON_TYPES = {"FP16": "TYPE_FP16", "FP32": "TYPE_FP32", "FP64": "TYPE_FP64"}
_FIL_MODEL_TYPES = {Framework.XGBOOST: "xgboost_json", Framework.LIGHTGBM: "lightgbm"}


class ExportError(Exception):
    """The repository cannot be written; the message says why."""


@dataclass(frozen=True)
class Exported:
    model: str
    version: int
    framework: str
    path: str | None  # the Triton model directory, None when skipped
    reason: str = ""


def model_repository_export(
    *, directory: Path, alias: str = "production", storage_uri: str | None = None
) -> list[Exported]:
    """Write the Triton repository and KServe manifests of every ``alias`` version.

    ``storage_uri`` is where DIR will be copied for KServe to read (``s3://bucket/dir``,
    ``gs://...``, ``pvc://...``); without it the manifests name ``DIR`` itself.
    Replaces DIR/triton and DIR/kserve; nothing else in DIR is touched.
    """
    directory = Path(directory).resolve()
    triton, kserve = directory / "triton", directory / "kserve"
    for old in (triton, kserve):
        if old.exists():
            shutil.rmtree(old)
    triton.mkdir(parents=True)
    kserve.mkdir()
    base = (storage_uri or f"pvc://{directory}").rstrip("/")
    report = []
    for _, version in selectors.aliased_versions(aliases=[alias]):
        name = version.model.name
        if version.framework not in _FIL_MODEL_TYPES and version.framework != Framework.ONNX:
            report.append(
                Exported(name, version.version, version.framework, None, "no Triton backend")
            )
            continue
        signature, filename, data = _artifact(version)
        unsafe = loaders.unsafe_tensor_name(signature)
        if unsafe is not None:
            report.append(
                Exported(name, version.version, version.framework, None, f"refused: {unsafe}")
            )
            continue
        model_dir = triton / name
        (model_dir / str(version.version)).mkdir(parents=True)
        (model_dir / str(version.version) / filename).write_bytes(data)
        (model_dir / "config.pbtxt").write_text(
            triton_config(version, signature=signature, filename=filename)
        )
        manifest = inference_service(version, alias=alias, storage_uri=f"{base}/triton")
        (kserve / f"{name}.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
        report.append(Exported(name, version.version, version.framework, str(model_dir)))
    return report


def _artifact(version: ModelVersion) -> tuple[loaders.Signature, str, bytes]:
    """The version's tensors, its file name in the repository and its bytes."""
    try:
        data = storage.read_verified(
            version.artifact_path, sha256=version.sha256, size=version.size
        )
        if version.framework == Framework.ONNX:
            return loaders.load(Framework.ONNX, data).signature(), "model.onnx", data
        signature = loaders.tabular_signature(len(version.feature_schema), output_datatype="FP32")
        if version.framework == Framework.LIGHTGBM:
            return signature, "model.txt", data
        if not data.lstrip().startswith(b"{"):  # UBJ: FIL reads XGBoost's JSON
            booster = loaders.load(Framework.XGBOOST, data).booster
            data = bytes(booster.save_raw("json"))
        return signature, "xgboost.json", data
    except (storage.ArtifactError, loaders.LoadError) as exc:
        raise ExportError(f"{version}: {exc}") from None


def triton_config(version: ModelVersion, *, signature: loaders.Signature, filename: str) -> str:
    """config.pbtxt in protobuf text format (Triton's ModelConfig message); every
    string in it is quoted by _quoted."""
    lines = [f"name: {_quoted(version.model.name)}"]
    if version.framework == Framework.ONNX:
        lines += ['backend: "onnxruntime"', f"max_batch_size: {MAX_BATCH_SIZE}"]
    else:
        lines += ['backend: "fil"', f"max_batch_size: {MAX_BATCH_SIZE}"]
    lines += _tensors("input", signature.inputs) + _tensors("output", signature.outputs)
    lines += [
        f"version_policy: {{ specific: {{ versions: [ {version.version} ] }} }}",
        "instance_group [ { kind: KIND_CPU } ]",
        "dynamic_batching { }",
    ]
    if version.framework != Framework.ONNX:
        parameters = {
            "model_type": _FIL_MODEL_TYPES[version.framework],
            "model_filename": filename,
            # One value per row, as this server answers: the probability of the
            # positive class (FIL applies the objective's transform) or the value.
            "output_class": "false",
        }
        lines.append("parameters [")
        lines.append(
            ",\n".join(
                f"  {{ key: {_quoted(key)} value: {{ string_value: {_quoted(value)} }} }}"
                for key, value in parameters.items()
            )
        )
        lines.append("]")
    else:
        lines.append(f"default_model_filename: {_quoted(filename)}")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    """``text`` as a string of protobuf's text format: quotes, backslashes and control
    characters escaped, so that it cannot end the string and add fields."""
    return f'"{text_encoding.CEscape(text, as_utf8=True)}"'


def _tensors(kind: str, tensors) -> list[str]:
    entries = [
        f"  {{ name: {_quoted(t.name)} data_type: {_TRITON_TYPES[t.datatype]} "
        f"dims: [ {', '.join(map(str, t.shape))} ] }}"
        for t in tensors
    ]
    return [f"{kind} [", ",\n".join(entries), "]"]


def inference_service(version: ModelVersion, *, alias: str, storage_uri: str) -> dict:
    """A KServe InferenceService: Triton serving this model from the repository, V2."""
    name = version.model.name
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": _dns_label(name),
            "annotations": {
                "backoffice/model": name,
                "backoffice/alias": alias,
                "backoffice/version": str(version.version),
                "backoffice/sha256": version.sha256,
            },
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "triton"},
                    "runtime": "kserve-tritonserver",
                    "protocolVersion": "v2",
                    "storageUri": storage_uri,
                    # The repository holds every exported model: this service loads one.
                    "args": [
                        "--model-control-mode=explicit",
                        f"--load-model={name}",
                        "--strict-model-config=true",
                    ],
                }
            }
        },
    }


def _dns_label(name: str) -> str:
    """Kubernetes names are lower-case DNS labels: letters, digits and -."""
    label = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:63].strip("-")
    return label or "model"
