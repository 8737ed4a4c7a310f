"""Issue 26, item 8: an ONNX model whose input name holds protobuf-text syntax was written
unescaped into the exported ``config.pbtxt``, adding blocks of the uploader's choosing.

Tensor names are restricted to a safe pattern at registration (a clear error on the
``file`` field), the export refuses a version registered before that with such a name,
and every string the export quotes is escaped. Triton's own ModelConfig message
(tritonclient's protobuf, parsed by google.protobuf.text_format) shows what a config
really holds.
"""

from io import StringIO

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from models_registry.artifacts import storage
from models_registry.artifacts.export import triton_config
from models_registry.artifacts.loaders import Signature, Tensor
from models_registry.errors import RegistryError
from models_registry.models import ModelAlias, ModelVersion, RegisteredModel
from models_registry.services import model_register
from tests.models_registry import factories

pytestmark = pytest.mark.django_db

# Closes the input entry, opens a parameters block, and reopens an input to swallow the
# rest of the line: a config that parses, with a parameter nobody registered.
HOSTILE = (
    'evil" data_type: TYPE_FP32 dims: [ 3 ] } ] parameters [ { key: "EXECUTION_ENV_PATH" '
    'value: { string_value: "/tmp/evil.tar.gz" } } ] input [ { name: "x'
)


def onnx_with(input_name: str = "x", output_name: str = "y") -> bytes:
    """A real ONNX model of three features (a MatMul), with the tensor names given."""
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((3, 1), dtype=np.float32), name="W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", [input_name, "W"], [output_name])],
        "g",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["N", 1])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model.SerializeToString()


def parse(text: str) -> model_config_pb2.ModelConfig:
    return text_format.Parse(text, model_config_pb2.ModelConfig())


@pytest.mark.parametrize(
    "names, which",
    [
        ({"input_name": HOSTILE}, "input"),
        ({"output_name": 'y" } ] backend: "python'}, "output"),
        ({"input_name": "x\ny"}, "input"),
        ({"input_name": "x y"}, "input"),
        ({"input_name": "x\\"}, "input"),
    ],
    ids=["injection", "output", "newline", "space", "backslash"],
)
def test_a_tensor_name_outside_the_safe_pattern_is_refused_at_registration(names, which):
    with pytest.raises(RegistryError) as refused:
        model_register(name="hostile", data=onnx_with(**names), filename="m.onnx", features="a,b,c")
    assert refused.value.field == "file"
    message = str(refused.value)
    assert f"the model's {which} tensor is named" in message
    assert "letters, digits and _ . : / -" in message
    assert not ModelVersion.objects.exists()


def test_the_admin_upload_shows_the_refusal_on_the_file_field(client, model_manager):
    client.force_login(model_manager)
    response = client.post(
        "/admin/models_registry/modelversion/add/",
        {
            "model_name": "hostile",
            "framework": "auto",
            "task": "regression",
            "features": "a,b,c",
            "file": SimpleUploadedFile("m.onnx", onnx_with(input_name=HOSTILE)),
        },
    )
    assert response.status_code == 200
    (message,) = response.context["form"].errors["file"]
    assert "the model's input tensor is named" in message
    assert not ModelVersion.objects.exists()


def test_the_usual_tensor_names_of_exported_networks_are_registered():
    for seed, (inp, out) in enumerate(
        [("input.1", "onnx::Gemm_5"), ("serving_default_x:0", "/dense/Sigmoid_output_0")]
    ):
        version = model_register(
            name=f"usual-{seed}", data=onnx_with(inp, out), filename="m.onnx", features="a,b,c"
        )
        assert version.version == 1


def legacy_version(name: str, data: bytes) -> ModelVersion:
    """A version registered before tensor names were checked, aliased production."""
    stored = storage.store_chunks([data], extension=".onnx")
    model = RegisteredModel.objects.create(name=name)
    version = ModelVersion.objects.create(
        model=model,
        version=1,
        framework="onnx",
        artifact_path=stored.path,
        sha256=stored.sha256,
        size=stored.size,
        feature_schema=[{"name": n, "type": "float"} for n in "abc"],
        output_kind="value",
    )
    ModelAlias.objects.create(model=model, name="production", version=version)
    return version


def test_the_export_refuses_a_version_registered_before_the_check(tmp_path):
    legacy_version("hostile", onnx_with(input_name=HOSTILE))
    trained = factories.xgboost_model()
    model_register(data=trained.data, filename=trained.filename, name="fine", alias="production")
    out = StringIO()
    call_command("export_model_repository", str(tmp_path / "repo"), stdout=out)
    output = out.getvalue()
    assert "skipped hostile@1 (onnx): refused: the model's input tensor is named" in output
    assert "exported fine@1" in output and "1 model(s)" in output
    triton = tmp_path / "repo" / "triton"
    assert not (triton / "hostile").exists()
    assert not (tmp_path / "repo" / "kserve" / "hostile.yaml").exists()
    config = parse((triton / "fine" / "config.pbtxt").read_text())
    assert [t.name for t in config.input] == ["input__0"]


def test_every_quoted_string_is_escaped_so_the_config_holds_only_what_the_export_wrote():
    """triton_config itself, given the hostile signature (the export refuses it first)."""
    version = legacy_version("hostile", onnx_with(input_name=HOSTILE))
    signature = Signature(
        inputs=(Tensor(HOSTILE, "FP32", (3,)),),
        outputs=(Tensor('y" } ] backend: "python', "FP32", (1,)),),
    )
    config = parse(triton_config(version, signature=signature, filename="model.onnx"))
    assert [t.name for t in config.input] == [HOSTILE]
    assert [t.name for t in config.output] == ['y" } ] backend: "python']
    assert config.backend == "onnxruntime"
    assert dict(config.parameters) == {}
    assert config.default_model_filename == "model.onnx"
