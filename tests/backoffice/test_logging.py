"""JSON log lines, request ids, and secrets kept out of the log."""

import io
import json
import logging
import logging.config
from datetime import UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core import env
from backoffice.core.ops import logconf

pytestmark = pytest.mark.smoke


@pytest.fixture
def log_stream():
    """A logger wired exactly as settings.LOGGING wires the root handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logconf.JsonFormatter())
    handler.addFilter(logconf.RequestContextFilter())
    handler.addFilter(logconf.RedactFilter())
    logger = logging.getLogger("tests.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_object_with_the_standard_fields(log_stream):
    logger, stream = log_stream
    logger.info("trade %s stored", "T-1", extra={"symbol": "EURUSD"})
    (line,) = lines(stream)
    assert list(line)[:4] == ["timestamp", "level", "logger", "message"]
    assert line["message"] == "trade T-1 stored"
    assert line["level"] == "INFO"
    assert line["symbol"] == "EURUSD"
    assert line["timestamp"].endswith("+00:00")


def test_the_request_context_reaches_every_record(log_stream):
    logger, stream = log_stream
    token = logconf.request_context.set({"request_id": "rid-1", "path": "/x", "method": "GET"})
    try:
        logger.warning("inside")
    finally:
        logconf.request_context.reset(token)
    logger.warning("outside")
    inside, outside = lines(stream)
    assert (inside["request_id"], inside["path"], inside["method"]) == ("rid-1", "/x", "GET")
    assert "request_id" not in outside


def test_registered_secrets_and_credentials_never_reach_the_line(log_stream):
    logger, stream = log_stream
    env.remember_secret("hunter2-very-secret")
    logger.error(
        "connect failed for %s with %s",
        "postgres://bo:pa55word@db:5432/bo",
        {"Authorization": "Api-Key abcdef123456", "key": "hunter2-very-secret"},
    )
    logger.info("header", extra={"auth": "Bearer tok-123456789"})
    try:
        raise ValueError("hunter2-very-secret in a traceback")
    except ValueError:
        logger.exception("boom")
    text = stream.getvalue()
    for leaked in ("hunter2-very-secret", "pa55word", "abcdef123456", "tok-123456789"):
        assert leaked not in text
    assert text.count(logconf.REDACTED) >= 5


def test_the_middleware_echoes_a_request_id_and_logs_it(client, caplog):
    with caplog.at_level(logging.DEBUG, logger="backoffice.request"):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-42")
    assert response["X-Request-ID"] == "trace-42"
    (record,) = [r for r in caplog.records if r.name == "backoffice.request"]
    assert record.request_id == "trace-42"
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)
    assert record.user == "anonymous"
    assert record.duration_ms >= 0


def test_a_malformed_request_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nforged log line")
    assert response["X-Request-ID"] != "bad id\nforged log line"
    assert len(response["X-Request-ID"]) == 32


def test_a_request_without_an_id_gets_a_fresh_one(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert first != second


def test_the_logging_config_is_accepted_by_dictconfig():
    # The same dict feeds settings.LOGGING and gunicorn's logconfig_dict.
    config = logconf.dict_config("WARNING")
    logging.config.dictConfig(config)
    assert logging.getLogger().level == logging.WARNING
    assert logging.getLogger("gunicorn.access").level == logging.INFO
    logging.config.dictConfig(logconf.dict_config("INFO"))


# -- the formatter's direct way and python-json-logger's agree -----------------------------

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)  # lone surrogates, NUL, quotes and backslashes included
    | st.datetimes(timezones=st.just(UTC) | st.none()),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
# Names the line treats specially (its leading fields, the dropped ones, a private one),
# the context's, and any other.
_SPECIAL_NAMES = ["timestamp", "level", "logger", "request", "server_time", "color_message"]
_OTHER_NAMES = ["_private", "request_id", "user", "path", "model", "status", "exc_info", "taskName"]
_NAMES = st.sampled_from([*_SPECIAL_NAMES, *_OTHER_NAMES]) | st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(
    message=st.text(max_size=40),
    extra=st.dictionaries(_NAMES, _VALUES, max_size=6),
    context=st.none() | st.dictionaries(_NAMES, st.text(max_size=10), max_size=4),
    logger_name=st.sampled_from(["serving.predictions", "backoffice.request", "django.request"]),
)
def test_the_formatters_direct_way_writes_the_librarys_line(message, extra, context, logger_name):
    formatter = logconf.JsonFormatter()
    logger = logging.getLogger(logger_name)

    def record():
        try:
            made = logger.makeRecord(
                logger_name, logging.INFO, __file__, 1, message, None, None, extra=extra
            )
        except KeyError:  # a name LogRecord itself has: logging refuses it
            return None
        made.created = 1_764_000_000.123
        token = logconf.request_context.set(context)
        try:
            logconf.RequestContextFilter().filter(made)
        finally:
            logconf.request_context.reset(token)
        return made

    first, second = record(), record()
    if first is None:
        return
    direct = formatter.format(first)
    assert direct == formatter.library_format(second)
    assert list(json.loads(direct))[:4] == ["timestamp", "level", "logger", "message"]


def test_a_string_found_clean_is_checked_again_once_a_secret_is_registered():
    import secrets

    value = secrets.token_urlsafe(12)
    text = f"model-{value}-x"
    assert logconf.redact(text) == text  # found clean, and remembered as clean
    assert logconf.redact(text) == text
    env.remember_secret(value)
    assert logconf.redact(text) == f"model-{logconf.REDACTED}-x"
