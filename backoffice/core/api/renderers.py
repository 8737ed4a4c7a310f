"""JSON answers that always render (orjson's on the predict path: FastJSONRenderer).

An answer may carry text taken from the request (a bad value named in an error). Text
with a lone surrogate cannot be encoded as UTF-8: such an answer is written with every
non-ASCII character escaped (still valid JSON) instead of failing with a 500.
"""

from __future__ import annotations

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _ASCII.render(data, accepted_media_type, renderer_context)


class _AsciiJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True


_ASCII = _AsciiJSONRenderer()


class FastJSONRenderer(renderers.JSONRenderer):
    """orjson for the answer; anything orjson does not know goes through DRF's encoder,
    and text orjson cannot encode (a lone surrogate echoed from the input) through the
    project's renderer."""

    _fallback = JSONEncoder().default

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        try:
            return orjson.dumps(data, default=self._fallback)
        except orjson.JSONEncodeError:
            return _SAFE.render(data, accepted_media_type, renderer_context)


_SAFE = JSONRenderer()
