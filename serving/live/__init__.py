"""Prediction records and the live judging of versions: figures, comparison, challengers."""
