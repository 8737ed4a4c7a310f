"""A small LSTM as an ONNX graph, built with onnx.helper (no training framework).

The original platform names an LSTM beside XGBoost and LightGBM. Serving it needs no
PyTorch or TensorFlow: a network trained anywhere is exported to ONNX and served by ONNX
Runtime (models_registry.artifacts.loaders.ONNXPredictor). This module builds one directly, with
seeded random weights, for the demo and the tests: a sequence of ``steps`` time steps
of ``features`` values in, one LSTM layer, a dense layer and a sigmoid out, one
probability per row. Its feature schema is the sequence flattened in row-major order
(``ret_t0, vol_t0, ret_t1, ...``), which is how a row of the predict API fills it.

No Django import here.
"""

from __future__ import annotations

import numpy as np

INPUT_NAME = "sequence"
OUTPUT_NAME = "probability"
OPSET = 14


def lstm_feature_names(features: list[str], steps: int) -> list[str]:
    """The flattened schema: every feature at step 0, then at step 1, ..."""
    return [f"{name}_t{step}" for step in range(steps) for name in features]


def lstm_onnx(*, features: list[str], steps: int = 4, hidden: int = 8, seed: int = 0) -> bytes:
    """The serialized ONNX model of a one-layer LSTM classifier (random weights)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    n = len(features)

    def weights(name: str, *shape: int, scale: float = 0.5):
        values = rng.normal(0.0, scale, size=shape).astype(np.float32)
        return numpy_helper.from_array(values, name=name)

    initializers = [
        weights("W", 1, 4 * hidden, n),
        weights("R", 1, 4 * hidden, hidden),
        weights("B", 1, 8 * hidden, scale=0.1),
        weights("dense_w", hidden, 1),
        weights("dense_b", 1, scale=0.1),
    ]
    nodes = [
        # ONNX Runtime runs the LSTM time-major only (layout 0): X is [steps, batch,
        # features] and Y_h [1, batch, hidden]; the API's rows are batch-major.
        helper.make_node("Transpose", [INPUT_NAME], ["time_major"], perm=[1, 0, 2]),
        helper.make_node(
            "LSTM", ["time_major", "W", "R", "B"], ["", "last_hidden"], hidden_size=hidden
        ),
        helper.make_node("Transpose", ["last_hidden"], ["batch_major"], perm=[1, 0, 2]),
        helper.make_node("Flatten", ["batch_major"], ["hidden_state"], axis=1),
        helper.make_node("MatMul", ["hidden_state", "dense_w"], ["logit_raw"]),
        helper.make_node("Add", ["logit_raw", "dense_b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], [OUTPUT_NAME]),
    ]
    graph = helper.make_graph(
        nodes,
        "lstm_classifier",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", steps, n])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 1])],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="backoffice",
    )
    model.ir_version = 8  # what every ONNX Runtime of the last years reads
    helper.set_model_props(
        model,
        {
            "feature_names": ",".join(lstm_feature_names(features, steps)),
            "output_kind": "probability",
        },
    )
    return model.SerializeToString()
