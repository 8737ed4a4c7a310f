"""The protocols served beside /api/v1/: the Open Inference Protocol (V2) and MLflow's bodies."""
