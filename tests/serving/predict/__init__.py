"""Tests of serving.predict (the same layout as the code)."""
