"""The baseline: a minimal FastAPI app in the original platform's style.

One XGBoost booster loaded from the same artifact file as the project serves, one
thread per prediction (as the project), pydantic validation of the body, no auth, no
cache, no logging beyond uvicorn's access log. Started by bench.serving with
BENCH_ARTIFACT (the model file) and BENCH_FEATURES (comma-separated names).
"""

from __future__ import annotations

import os

import numpy as np
import xgboost
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

FEATURES = os.environ["BENCH_FEATURES"].split(",")
booster = xgboost.Booster()
booster.load_model(os.environ["BENCH_ARTIFACT"])
booster.set_param({"nthread": 1})

app = FastAPI()


class PredictBody(BaseModel):
    inputs: list[list[float]] | None = None
    instances: list[dict[str, float]] | None = None


@app.post("/models/{name}/predict")
async def predict(name: str, body: PredictBody):
    if body.inputs is not None:
        rows = np.asarray(body.inputs, dtype=np.float64)
    elif body.instances is not None:
        rows = np.asarray([[row[f] for f in FEATURES] for row in body.instances])
    else:
        raise HTTPException(400, "give inputs or instances")
    if rows.ndim != 2 or rows.shape[1] != len(FEATURES):
        raise HTTPException(400, f"rows must have {len(FEATURES)} values")
    predictions = booster.inplace_predict(rows, validate_features=False)
    return {"model": name, "version": 1, "predictions": predictions.astype(float).tolist()}
