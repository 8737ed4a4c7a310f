"""JSON answers that always render.

An answer may carry text taken from the request (a bad value named in an error). Text
with a lone surrogate cannot be encoded as UTF-8: such an answer is written with every
non-ASCII character escaped (still valid JSON) instead of failing with a 500.
"""

from __future__ import annotations

from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _ASCII.render(data, accepted_media_type, renderer_context)


class _AsciiJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True


_ASCII = _AsciiJSONRenderer()
