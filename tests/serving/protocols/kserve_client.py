"""Run by KServe's own virtualenv (tests.peer_venv), not by the project's: KServe's
InferenceRESTClient (protocol v2) against a live server. Reads {"url", "key", "rows"}
as JSON on stdin, prints what the client saw as JSON on stdout."""

import asyncio
import json
import sys
from importlib.metadata import version

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput


async def infer(client, url, key, model, rows, *, binary_in, binary_out, name="input__0"):
    tensor = InferInput(name, list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows, binary_data=binary_in)
    outputs = [RequestedOutput("output__0", {"binary_data": True})] if binary_out else None
    request = InferRequest(model, [tensor], request_id="k7", request_outputs=outputs)
    headers = {"Authorization": f"Api-Key {key}"} if key else {}
    try:
        response = await client.infer(url, request, model_name=model, headers=headers)
    except httpx.HTTPStatusError as exc:
        return {"status": exc.response.status_code, "error": str(exc)}
    [output] = response.outputs
    return {
        "status": 200,
        "id": response.id,
        "model_name": response.model_name,
        "name": output.name,
        "datatype": output.datatype,
        "shape": output.shape,
        "data": output.as_numpy().reshape(-1).astype(float).tolist(),
    }


async def main(url: str, key: str, rows: np.ndarray) -> dict:
    auth = {"Authorization": f"Api-Key {key}"}
    seen: dict = {"kserve": version("kserve")}
    async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=60)) as client:
        seen["live"] = await client.is_server_live(url)
        seen["ready"] = await client.is_server_ready(url)
        seen["model_ready"] = await client.is_model_ready(url, "edge-xgb", headers=auth)
        seen["model_ready_without_key"] = await client.is_model_ready(url, "edge-xgb")
        for model in ("edge-xgb", "edge-lgbm"):
            for binary_in, binary_out in ((False, False), (True, False), (True, True)):
                label = f"{model} in:{'binary' if binary_in else 'json'} out:" + (
                    "binary" if binary_out else "json"
                )
                seen[label] = await infer(
                    client, url, key, model, rows, binary_in=binary_in, binary_out=binary_out
                )
        seen["unknown input"] = await infer(
            client, url, key, "edge-xgb", rows, binary_in=False, binary_out=False, name="volume"
        )
        seen["without key"] = await infer(
            client, url, None, "edge-xgb", rows, binary_in=False, binary_out=False
        )
        seen["unknown model"] = await infer(
            client, url, key, "ghost", rows, binary_in=False, binary_out=False
        )
    return seen


if __name__ == "__main__":
    given = json.load(sys.stdin)
    rows = np.array(given["rows"], dtype=np.float32)
    print(json.dumps(asyncio.run(main(given["url"] + "/", given["key"], rows))))
