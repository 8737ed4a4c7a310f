"""Tests of serving.live (the same layout as the code)."""
