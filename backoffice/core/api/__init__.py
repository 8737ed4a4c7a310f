"""The API's shared contract: every app's API imports its plumbing from here.

parsers    JSON bodies read within a size limit and parsed without floats or surprises
renderers  JSON answers that render whatever text they carry
"""
