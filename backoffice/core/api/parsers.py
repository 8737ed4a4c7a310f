"""Request bodies: read within the endpoint's size limit, parsed as strict JSON.

Two parsers share the reading and the errors:

- ``JSONParser``, every endpoint's: numbers with a fraction as Decimal (money is never a
  float), the standard library's json;
- ``FastJSONParser``, the predict path's: floats (a model's features are), with orjson,
  several times faster on a 1,000-row body (about 85 kB of numbers), whose parse with
  the standard library takes longer than the model's prediction (bench/README.md); it
  refuses NaN, Infinity and numbers beyond float range as malformed JSON.

DRF's own JSONParser reads the whole body through Django's ``request.body`` (and so
through DATA_UPLOAD_MAX_MEMORY_SIZE, which answers an HTML 400) before parsing it. These
parsers read the stream themselves, at most the endpoint's limit plus one byte, and
answer a body over it with a JSON 413 that names the limit.

A view sets its limit with ``body_limit_mb`` (a number of MB, or the name of a setting
holding one); the default is settings.API_MAX_BODY_MB.
"""

from __future__ import annotations

import json
from decimal import Decimal

import orjson
from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from backoffice.core.errors import PayloadTooLarge


def body_limit_mb(parser_context: dict | None) -> int:
    """The limit of the view that parses, in MB."""
    view = (parser_context or {}).get("view")
    limit = getattr(view, "body_limit_mb", None) or "API_MAX_BODY_MB"
    return int(getattr(settings, limit)) if isinstance(limit, str) else int(limit)


def read_body(stream, parser_context: dict | None, *, advice: str = "") -> bytes:
    """The body's bytes, or PayloadTooLarge when it passes the view's limit."""
    if stream is None:
        return b""
    megabytes = body_limit_mb(parser_context)
    limit = megabytes * 1024 * 1024
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            f"the request body is larger than this endpoint's limit of {megabytes} MB"
            + (f"; {advice}" if advice else "")
        )
    return data


class JSONParser(BaseParser):
    """JSON with every number that has a fraction or an exponent read as Decimal (never
    a float), and nesting that would exhaust the stack refused as malformed (a 400, not
    a RecursionError).

    NaN and Infinity, which JSON does not have but some clients send, are read as
    Decimal too, so that the field holding one is named by its validation (every
    validator of the API refuses non-finite numbers) instead of a bare parse error.
    """

    media_type = "application/json"
    advice = ""

    def parse(self, stream, media_type=None, parser_context=None):
        data = read_body(stream, parser_context, advice=self.advice)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"the body is not UTF-8 text (byte {exc.start})") from None
        try:
            return json.loads(text, parse_float=Decimal, parse_constant=Decimal)
        except RecursionError:
            raise exceptions.ParseError("malformed JSON: nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, or an integer of thousands of digits
            raise exceptions.ParseError(f"malformed JSON: {exc}") from None


class JSONBody:
    """The body's bytes, parsed on first use.

    A repeated large request is answered from the prediction cache by the hash of its
    bytes, before (and instead of) parsing them (serving.predict.services: the prediction cache).
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


class FastJSONParser(BaseParser):
    """The predict path's parser: reads at most the view's body limit; request.data is a
    JSONBody, parsed by orjson (floats) when first needed."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return JSONBody(read_body(stream, parser_context, advice="send fewer rows"))
