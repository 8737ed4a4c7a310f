"""Benchmark of the prediction API against a minimal FastAPI baseline (bench/README.md)."""
