"""Request bodies: read within the endpoint's size limit, parsed as strict JSON.

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

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "the request body is too large"
    default_code = "too_large"


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
