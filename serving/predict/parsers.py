"""JSON in and out of the predict endpoint, with orjson.

A 1,000-row body is about 85 kB of numbers; the standard library parses it in a few
milliseconds, more than the model takes to predict it. orjson does it several times
faster, rejects NaN, Infinity and numbers beyond float range as malformed JSON (as the
API must), and bounds nesting depth. The body is read at most SERVING_MAX_BODY_MB.
"""

from __future__ import annotations

import orjson
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from backoffice.core.api.parsers import read_body
from backoffice.core.api.renderers import JSONRenderer as SafeJSONRenderer


class JSONBody:
    """The body's bytes, parsed on first use.

    A repeated large request is answered from the prediction cache by the hash of its
    bytes, before (and instead of) parsing them (serving.predict.services).
    """

    __slots__ = ("_parsed", "raw")

    def __init__(self, raw: bytes):
        self.raw = raw
        self._parsed = None

    def parsed(self):
        if self._parsed is None:
            if not self.raw:
                return {}
            try:
                self._parsed = orjson.loads(self.raw)
            except orjson.JSONDecodeError as exc:
                if "UTF-8" in str(exc):
                    raise exceptions.ParseError("the body is not UTF-8 text") from None
                raise exceptions.ParseError(f"malformed JSON: {exc}") from None
        return self._parsed


class BoundedJSONParser(BaseParser):
    """Reads at most the view's body limit (backoffice.core.api.parsers); request.data is a
    JSONBody, parsed by orjson when first needed."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return JSONBody(read_body(stream, parser_context, advice="send fewer rows"))


class FastJSONRenderer(JSONRenderer):
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


_SAFE = SafeJSONRenderer()
