"""Open Inference Protocol (V2) tensors: an infer request into rows, the answer out.

What KServe, Triton and MLServer clients send: ``{"id", "parameters", "inputs":
[{"name", "datatype", "shape", "data" | parameters.binary_data_size}], "outputs":
[{"name", "parameters": {"binary_data"}}]}``, optionally followed by raw tensor bytes
(Triton's binary tensor extension: the JSON's length is in the
``Inference-Header-Content-Length`` header). The batch is the first dimension of the
shape. A model's rows come either from one tensor named as the model's input (shape
``[N, *dims]`` or ``[N, features]``) or from one tensor per feature, named by the
feature (shape ``[N]`` or ``[N, 1]``).

Every fault raises serving.errors.InvalidInput naming the tensor; nothing is allocated
from a shape before the data was found to hold that many values. The JSON part is
counted before it is parsed (serving.predict.bounds: at most the values of SERVING_MAX_ROWS
rows of the model's features), a batch larger than the row limit is refused from its
shape before its data is read, and ``data`` nested deeper than its shape is refused
at the first level too deep.

No Django import here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import numpy as np
import orjson

from backoffice.core.text import plain_digits as _plain_digits
from models_registry.artifacts.loaders import Signature
from serving.errors import InvalidInput
from serving.inputs import json_type
from serving.predict import bounds

# The V2 datatypes this server takes as numbers, with their little-endian dtypes.
NUMERIC = {
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
MAX_DIMS = 8
MAX_NAME = 256
# model_name and model_version: KServe's InferRequest sends its model's name in the body.
_TOP_LEVEL = frozenset({"id", "model_name", "model_version", "parameters", "inputs", "outputs"})
_NUMBER_TYPES = (int, float)


@dataclass(frozen=True)
class InputTensor:
    name: str
    datatype: str
    shape: tuple[int, ...]
    values: np.ndarray  # flat, float64


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    inputs: tuple[InputTensor, ...]
    outputs: tuple[str, ...]  # requested output names; empty: all
    binary_outputs: frozenset[str]  # outputs to send as raw bytes
    binary_default: bool  # parameters.binary_data_output
    # The model (and version) the body names, if it names one: the URL's must match.
    model_name: str | None = None
    model_version: str | None = None


def parse_infer(
    raw: bytes, header_length: str | None, *, max_rows: int, features: int, max_values: int
) -> InferRequest:
    """The request from the body's bytes and the Inference-Header-Content-Length header,
    for a model of ``features`` features taking at most ``max_rows`` rows a request:
    a body that holds more values than those rows (or ``max_values``) is refused
    before it is parsed (serving.predict.bounds, backoffice.core.errors.PayloadTooLarge)."""
    binary = b""
    if header_length is not None:
        if not _plain_digits(header_length) or not 0 < int(header_length) <= len(raw):
            raise InvalidInput(
                f"Inference-Header-Content-Length must be a whole number of bytes within "
                f"the body's {len(raw)}",
                field="Inference-Header-Content-Length",
            )
        cut = int(header_length)
        raw, binary = raw[:cut], raw[cut:]
    bounds.check_json(raw, max_rows=max_rows, features=features, max_values=max_values)
    try:
        header = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from None
    if not isinstance(header, dict):
        raise InvalidInput('the body must be a JSON object: {"inputs": [...]}')
    unknown = sorted(set(header) - _TOP_LEVEL)
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r}: an infer request holds id, model_name, "
            "model_version, parameters, inputs and outputs",
            field=unknown[0],
        )
    request_id = header.get("id")
    if request_id is not None and (not isinstance(request_id, str) or len(request_id) > MAX_NAME):
        raise InvalidInput(f"id must be a string of at most {MAX_NAME} characters", field="id")
    for field in ("model_name", "model_version"):
        value = header.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME):
            raise InvalidInput(
                f"{field} must be a string of at most {MAX_NAME} characters", field=field
            )
    parameters = _parameters(header.get("parameters"), "parameters")
    binary_default = parameters.get("binary_data_output", False)
    if not isinstance(binary_default, bool):
        raise InvalidInput(
            "parameters.binary_data_output must be true or false",
            field="parameters.binary_data_output",
        )
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("inputs must be a non-empty list of tensors", field="inputs")
    if len(inputs) > 4096:
        raise InvalidInput("inputs holds more than 4096 tensors", field="inputs")
    tensors, offset = [], 0
    for index, tensor in enumerate(inputs):
        parsed, offset = _input(tensor, index, binary, offset, max_rows=max_rows)
        tensors.append(parsed)
    if offset != len(binary):
        raise InvalidInput(
            f"the body has {len(binary) - offset} bytes after the tensors' binary data",
            field="inputs",
        )
    seen: set[str] = set()
    for tensor in tensors:  # a set, not list.count: linear in the number of tensors
        if tensor.name in seen:
            twice = tensor.name[:60]
            raise InvalidInput(f"input {twice!r} is given twice", field=f"inputs.{twice}")
        seen.add(tensor.name)
    outputs, binary_outputs = _outputs(header.get("outputs"))
    return InferRequest(
        id=request_id,
        inputs=tuple(tensors),
        outputs=outputs,
        binary_outputs=binary_outputs,
        binary_default=binary_default,
        model_name=header.get("model_name"),
        model_version=header.get("model_version"),
    )


def _parameters(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be an object", field=where)
    return value


def _input(
    tensor, index: int, binary: bytes, offset: int, *, max_rows: int
) -> tuple[InputTensor, int]:
    where = f"inputs[{index}]"
    if not isinstance(tensor, dict):
        raise InvalidInput(f"{where} must be an object with name, datatype, shape", field=where)
    name = tensor.get("name")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise InvalidInput(f"{where}.name must be a non-empty string", field=f"{where}.name")
    where = f"inputs.{name}" if name.isprintable() else where
    datatype = tensor.get("datatype")
    if datatype not in NUMERIC:
        shown = datatype if isinstance(datatype, str) else type(datatype).__name__
        raise InvalidInput(
            f"{where} has datatype {str(shown)[:20]!r}; the models take numbers: "
            f"{', '.join(NUMERIC)}",
            field=f"{where}.datatype",
        )
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= MAX_DIMS
        or not all(type(d) is int and 0 <= d < 2**31 for d in shape)
    ):
        raise InvalidInput(
            f"{where}.shape must be a list of 1 to {MAX_DIMS} whole numbers >= 0",
            field=f"{where}.shape",
        )
    if shape[0] > max_rows:
        # The batch is the first dimension: refused before any of the data is read.
        raise InvalidInput(
            f"{where} has a batch of {shape[0]:,} rows; at most {max_rows:,} per request",
            field=f"{where}.shape",
        )
    count = math.prod(shape)
    dtype = NUMERIC[datatype]
    parameters = _parameters(tensor.get("parameters"), f"{where}.parameters")
    size = parameters.get("binary_data_size")
    if size is not None:
        if type(size) is not int or size < 0 or offset + size > len(binary):
            raise InvalidInput(
                f"{where}.parameters.binary_data_size must be a byte count within the "
                f"body's {len(binary) - offset} remaining bytes",
                field=f"{where}.parameters.binary_data_size",
            )
        if "data" in tensor:
            raise InvalidInput(f"{where} has both data and binary data", field=f"{where}.data")
        if size != count * dtype.itemsize:
            raise InvalidInput(
                f"{where} has {size} bytes of binary data; shape {shape} of {datatype} "
                f"needs {count * dtype.itemsize}",
                field=f"{where}.parameters.binary_data_size",
            )
        values = np.frombuffer(binary, dtype=dtype, count=count, offset=offset)
        offset += size
    else:
        if "data" not in tensor:
            raise InvalidInput(f"{where} has no data", field=f"{where}.data")
        values = _json_values(tensor["data"], dtype, datatype, where, dims=len(shape))
        if len(values) != count:
            raise InvalidInput(
                f"{where} holds {len(values)} values; shape {shape} needs {count}",
                field=f"{where}.shape",
            )
    as_float = values.astype(np.float64)
    if dtype.kind == "f" and not np.isfinite(as_float).all():
        raise InvalidInput(f"{where} holds a value that is not a finite number", field=where)
    return InputTensor(name, datatype, tuple(shape), as_float), offset


def _json_values(data, dtype: np.dtype, datatype: str, where: str, *, dims: int) -> np.ndarray:
    """The values of ``data`` (flat, or nested lists in row-major order, at most as deep
    as the shape's ``dims``) as ``dtype``."""
    if not isinstance(data, list):
        raise InvalidInput(f"{where}.data must be a list of numbers", field=f"{where}.data")
    flat, depth = data, 0
    while flat and type(flat[0]) is list:
        depth += 1
        # Each level is checked before it is unpacked: data nested deeper than its shape
        # is refused at the first level too deep.
        if depth >= dims or not all(type(item) is list for item in flat):
            raise InvalidInput(
                f"{where}.data must be numbers, or lists of them nested as the shape "
                f"({dims} dimension(s))",
                field=f"{where}.data",
            )
        flat = list(chain.from_iterable(flat))
    allowed = (int,) if dtype.kind in "iu" else _NUMBER_TYPES
    if not all(type(v) in allowed for v in flat):
        bad = next(v for v in flat if type(v) not in allowed)
        kind = "whole numbers" if dtype.kind in "iu" else "numbers"
        raise InvalidInput(
            f"{where}.data must hold {kind} ({datatype}); found {json_type(bad)}",
            field=f"{where}.data",
        )
    try:
        with np.errstate(over="raise", invalid="raise"):
            return np.array(flat, dtype=dtype)
    except (OverflowError, FloatingPointError, ValueError):
        raise InvalidInput(
            f"{where}.data holds a value out of {datatype}'s range", field=f"{where}.data"
        ) from None


def _outputs(value) -> tuple[tuple[str, ...], frozenset[str]]:
    if value is None:
        return (), frozenset()
    if not isinstance(value, list) or len(value) > 64:
        raise InvalidInput("outputs must be a list of {name, parameters}", field="outputs")
    names, binary = [], set()
    for index, item in enumerate(value):
        where = f"outputs[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInput(f"{where} must be an object with a name", field=where)
        parameters = _parameters(item.get("parameters"), f"{where}.parameters")
        flag = parameters.get("binary_data", False)
        if not isinstance(flag, bool):
            raise InvalidInput(
                f"{where}.parameters.binary_data must be true or false",
                field=f"{where}.parameters.binary_data",
            )
        names.append(item["name"][:MAX_NAME])
        if flag:
            binary.add(names[-1])
    return tuple(names), frozenset(binary)


def rows_for(
    request: InferRequest, signature: Signature, feature_names: tuple[str, ...], *, max_rows: int
) -> np.ndarray:
    """The (rows, features) float64 matrix the request's tensors hold, in schema order."""
    model_input = signature.inputs[0]
    n = len(feature_names)
    if len(request.inputs) == 1 and request.inputs[0].name == model_input.name:
        tensor = request.inputs[0]
        shape = tensor.shape
        if shape[1:] not in (model_input.shape, (n,)):
            raise InvalidInput(
                f"input {tensor.name!r} has shape {list(shape)}; this model takes "
                f"{_shape_text(model_input.shape)} (the first dimension is the batch)",
                field=f"inputs.{tensor.name}.shape",
            )
        rows = tensor.values.reshape(shape[0], n)
    else:
        rows = _columns(request.inputs, model_input, feature_names)
    if len(rows) == 0:
        raise InvalidInput("the batch is empty: send at least one row", field="inputs")
    if len(rows) > max_rows:
        raise InvalidInput(
            f"the batch has {len(rows)} rows; at most {max_rows} per request", field="inputs"
        )
    return rows


def _columns(inputs, model_input, feature_names) -> np.ndarray:
    """One tensor per feature, each of shape [N] or [N, 1], stacked in schema order."""
    known = set(feature_names)
    for tensor in inputs:
        if tensor.name not in known:
            shown = ", ".join(feature_names[:8]) + (" ..." if len(feature_names) > 8 else "")
            raise InvalidInput(
                f"input {tensor.name[:60]!r} is not this model's: send {model_input.name!r} "
                f"({model_input.datatype}, shape {_shape_text(model_input.shape)}) or one "
                f"tensor per feature ({shown})",
                field=f"inputs.{tensor.name[:60]}",
            )
    by_name = {tensor.name: tensor for tensor in inputs}
    missing = [name for name in feature_names if name not in by_name]
    if missing:
        raise InvalidInput(f"feature {missing[0]!r} has no tensor", field=f"inputs.{missing[0]}")
    batch = None
    for tensor in inputs:
        if len(tensor.shape) > 2 or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise InvalidInput(
                f"input {tensor.name!r} has shape {list(tensor.shape)}; a feature's tensor "
                "has shape [N] or [N, 1]",
                field=f"inputs.{tensor.name}.shape",
            )
        if batch is None:
            batch = tensor.shape[0]
        elif tensor.shape[0] != batch:
            raise InvalidInput(
                f"input {tensor.name!r} has {tensor.shape[0]} rows, the others {batch}",
                field=f"inputs.{tensor.name}.shape",
            )
    return np.column_stack([by_name[name].values for name in feature_names])


def _shape_text(dims: tuple[int, ...]) -> str:
    return "[" + ", ".join(["-1", *map(str, dims)]) + "]"


def encode_answer(
    request: InferRequest,
    signature: Signature,
    *,
    model: str,
    version: int,
    predictions: list[float | None],
    parameters: dict[str, str] | None = None,
) -> tuple[bytes, int | None]:
    """The answer's body and, when it carries binary data, the JSON part's length.

    ``parameters``: the answer's own (the protocol takes strings, numbers and booleans:
    the prediction id). Raises InvalidInput for an output the model does not have.
    """
    known = {tensor.name: tensor for tensor in signature.outputs}
    for name in request.outputs:
        if name not in known:
            raise InvalidInput(
                f"output {name[:60]!r} is not this model's; it gives {', '.join(known)}",
                field=f"outputs.{name[:60]}",
            )
    wanted = request.outputs or tuple(known)
    rows = len(predictions)
    outputs, chunks = [], []
    for name in wanted:
        tensor = known[name]
        shape = [rows, *tensor.shape]
        entry: dict = {"name": name, "datatype": tensor.datatype, "shape": shape}
        if name in request.binary_outputs or request.binary_default:
            values = np.array(
                [math.nan if v is None else v for v in predictions], dtype=NUMERIC[tensor.datatype]
            )
            chunk = values.tobytes()
            entry["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        else:
            entry["data"] = predictions
        outputs.append(entry)
    answer: dict = {"model_name": model, "model_version": str(version), "outputs": outputs}
    if request.id is not None:
        answer["id"] = request.id
    if parameters:
        answer["parameters"] = parameters
    header = orjson.dumps(answer)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)
