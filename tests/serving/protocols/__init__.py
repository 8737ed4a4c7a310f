"""Tests of serving.protocols (the same layout as the code)."""
