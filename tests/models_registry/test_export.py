"""export_model_repository: Triton's own config parser accepts every config.pbtxt, whose
tensors match the version's schema; the artifacts are the registry's; a KServe
InferenceService per aliased model points at them."""

import hashlib

import pytest
import yaml
from django.core.management import call_command
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from models_registry.services import model_register
from tests.models_registry import factories

pytestmark = pytest.mark.django_db


def register(trained, name, **kwargs):
    return model_register(data=trained.data, filename=trained.filename, name=name, **kwargs)


@pytest.fixture
def registry(db):
    return {
        "edge-xgb": register(factories.xgboost_model(), "edge-xgb", alias="production"),
        "edge-ubj": register(factories.xgboost_ubj_model(), "edge-ubj", alias="production"),
        "edge-lgbm": register(factories.lightgbm_model(), "edge-lgbm", alias="production"),
        "edge-lstm": register(factories.onnx_lstm_model(), "edge-lstm", alias="production"),
    }


def parse_config(path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def run(tmp_path, *args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("export_model_repository", str(tmp_path / "repo"), *args, stdout=out)
    return out.getvalue()


def test_every_config_parses_with_tritons_model_config_and_matches_the_schema(registry, tmp_path):
    newer = register(factories.xgboost_model(seed=1), "edge-xgb")  # not production
    output = run(tmp_path)
    assert "4 model(s)" in output
    triton = tmp_path / "repo" / "triton"
    assert sorted(p.name for p in triton.iterdir()) == sorted(registry)
    for name, version in registry.items():
        config = parse_config(triton / name / "config.pbtxt")
        assert config.name == name
        assert list(config.version_policy.specific.versions) == [version.version]
        assert [p.name for p in (triton / name).iterdir() if p.is_dir()] == [str(version.version)]
        (tensor_in,) = config.input
        (tensor_out,) = config.output
        assert tensor_in.data_type == model_config_pb2.TYPE_FP32
        assert config.max_batch_size > 0
        if version.framework == "onnx":
            assert config.backend == "onnxruntime"
            assert (tensor_in.name, list(tensor_in.dims)) == ("sequence", [4, 2])
            assert (tensor_out.name, list(tensor_out.dims)) == ("probability", [1])
            assert config.default_model_filename == "model.onnx"
        else:
            assert config.backend == "fil"
            assert (tensor_in.name, list(tensor_in.dims)) == (
                "input__0",
                [len(version.feature_schema)],
            )
            assert (tensor_out.name, list(tensor_out.dims)) == ("output__0", [1])
            parameters = {k: v.string_value for k, v in config.parameters.items()}
            expected = "lightgbm" if version.framework == "lightgbm" else "xgboost_json"
            assert parameters["model_type"] == expected
            assert (triton / name / str(version.version) / parameters["model_filename"]).exists()
    assert newer.version == 2 and not (triton / "edge-xgb" / "2").exists()


def test_the_exported_files_are_the_registered_artifacts(registry, tmp_path):
    run(tmp_path)
    triton = tmp_path / "repo" / "triton"
    for name in ("edge-xgb", "edge-lgbm", "edge-lstm"):
        (path,) = (triton / name / str(registry[name].version)).iterdir()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == registry[name].sha256
    # UBJ becomes XGBoost's JSON (FIL's format) with the same trees.
    import xgboost

    (ubj,) = (triton / "edge-ubj" / "1").iterdir()
    booster = xgboost.Booster()
    booster.load_model(bytearray(ubj.read_bytes()))
    trained = factories.xgboost_ubj_model()
    got = booster.predict(xgboost.DMatrix(trained.probe, feature_names=trained.features))
    assert got.tolist() == trained.expected


def test_a_kserve_inference_service_per_model_points_at_the_repository(registry, tmp_path):
    run(tmp_path, "--storage-uri", "s3://models/desk/")
    for name, version in registry.items():
        manifest = yaml.safe_load((tmp_path / "repo" / "kserve" / f"{name}.yaml").read_text())
        assert (manifest["apiVersion"], manifest["kind"]) == (
            "serving.kserve.io/v1beta1",
            "InferenceService",
        )
        assert manifest["metadata"]["name"] == name
        assert manifest["metadata"]["annotations"]["backoffice/version"] == str(version.version)
        model = manifest["spec"]["predictor"]["model"]
        assert model["storageUri"] == "s3://models/desk/triton"
        assert model["protocolVersion"] == "v2"
        assert f"--load-model={name}" in model["args"]


def test_sklearn_models_are_skipped_and_said_so_and_a_second_export_replaces_the_first(
    registry, tmp_path
):
    features = ",".join(factories.FEATURES)
    register(factories.sklearn_pipeline(), "edge-sk", alias="production", features=features)
    pickled = factories.sklearn_pipeline_joblib()
    register(pickled, "edge-pk", alias="production", features=features, trust_pickle=True)
    output = run(tmp_path)
    assert "skipped edge-sk@1 (sklearn-skops): no Triton backend" in output
    assert "skipped edge-pk@1 (sklearn-joblib): no Triton backend" in output
    assert not (tmp_path / "repo" / "triton" / "edge-sk").exists()
    stale = tmp_path / "repo" / "triton" / "gone"
    stale.mkdir()
    run(tmp_path, "--alias", "production")
    assert not stale.exists()


def test_an_alias_nobody_has_exports_nothing(registry, tmp_path):
    assert "0 model(s)" in run(tmp_path, "--alias", "canary")
