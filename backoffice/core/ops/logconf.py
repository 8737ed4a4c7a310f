# Hand code for speed: two log lines 104 -> 51 us of ~800 (bench/README.md, "What changed")
"""JSON logging: one object a line on stdout, for Django, the apps and gunicorn.

No Django import here: settings.py and gunicorn.conf.py both build their logging
configuration from ``dict_config``.
"""

from __future__ import annotations

import contextvars
import logging
import re
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from backoffice.core import env

# Set by RequestContextMiddleware for the duration of one request.
request_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "request_context", default=None
)

# Lines of the current request to write once its answer has been sent
# (backoffice.core.http.middleware); None outside a request.
after_response: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "after_response", default=None
)


def log_after_response(logger: logging.Logger, level: int, message: str, extra: dict) -> None:
    """Logs the line once the current request's answer has been sent, or now outside a
    request: a client waits for its answer, not for the log lines about it."""
    lines = after_response.get()
    if lines is None:
        logger.log(level, message, extra=extra)
    else:
        lines.append((logger, level, message, extra))


def write_lines(lines: list, context: dict | None) -> None:
    """Writes deferred lines with their request's context (its id, user, path)."""
    token = request_context.set(context)
    try:
        while lines:
            logger, level, message, extra = lines.pop(0)
            logger.log(level, message, extra=extra)
    finally:
        request_context.reset(token)


REDACTED = "[REDACTED]"
_AUTH_HEADER = re.compile(r"(?i)(\"?(?:http_)?authorization\"?\s*[:=]\s*['\"]?)[^'\",}\n]+")
_AUTH_SCHEME = re.compile(r"(?i)\b(Api-Key|Bearer|Token|Basic)\s+[A-Za-z0-9._~+/=:-]{6,}")
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^:/\s@'\"]*:)[^@\s/'\"]+@", re.IGNORECASE)


_SCHEME_WORDS = ("api-key", "bearer", "token", "basic")


# Short strings redaction left as they were (a model's name, a path, a method, a key's
# name: the same on every line of a bot's requests), for the secrets they were checked
# against. Only strings with nothing to remove are kept.
_CLEAN_MAX_LENGTH = 200
_CLEAN_MAX_ENTRIES = 4096
_clean: set[str] = set()
_clean_for: frozenset[str] = frozenset()


def redact(text: str) -> str:
    """Remove registered secret values, credentials in URLs and Authorization values.

    Runs on every string of every log record, so each pattern runs only when a cheap
    substring test says it could match, and a short string already found clean is not
    checked again until another secret is registered.
    """
    if not text:
        return text
    if len(text) > _CLEAN_MAX_LENGTH:
        return _redact(text)
    global _clean_for
    secrets = env.registered_secrets()
    if _clean_for is not secrets:
        _clean.clear()
        _clean_for = secrets
    elif text in _clean:
        return text
    result = _redact(text)
    if result == text:
        if len(_clean) >= _CLEAN_MAX_ENTRIES:
            _clean.clear()
        _clean.add(text)
    return result


def _redact(text: str) -> str:
    for value in env.registered_secrets():
        if value in text:
            text = text.replace(value, REDACTED)
    if "@" in text and "://" in text:
        text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    lowered = text.lower()
    if "authorization" in lowered:
        text = _AUTH_HEADER.sub(rf"\1{REDACTED}", text)
    if _scheme_then_space(lowered):
        text = _AUTH_SCHEME.sub(rf"\1 {REDACTED}", text)
    return text


def _scheme_then_space(lowered: str) -> bool:
    """Whether a scheme word is followed by whitespace, as _AUTH_SCHEME needs: the
    substring test before the pattern, which is slow on a whole line ("api-key:bot", the
    log's name for a key's requests, is on every line of a bot's requests)."""
    for word in _SCHEME_WORDS:
        start = lowered.find(word)
        while start >= 0:
            end = start + len(word)
            if end < len(lowered) and lowered[end].isspace():
                return True
            start = lowered.find(word, end)
    return False


class RequestContextFilter(logging.Filter):
    """Copies the current request's id, user, method and path onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = request_context.get()
        if context:
            for key, value in context.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


# Attributes every LogRecord has; none carries request data except msg and args.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class RedactFilter(logging.Filter):
    """Keeps secret values and Authorization headers out of every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):  # gunicorn's access atoms
            # Only the atoms the formatter writes survive: the rest are every request
            # header and environ variable, costly to scrub and never logged.
            record.args = {
                key: self._scrub_atom(key, value)
                for key, value in record.args.items()
                if key in JsonFormatter.ACCESS_FIELDS or key == "D"
            }
            # The access format string names atoms that are gone now: a fixed message.
            record.msg = "request served"
        else:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: keep the raw parts, redacted
                message = f"{record.msg} {record.args}"
            record.msg, record.args = redact(message), None
        fields = record.__dict__
        for key in fields.keys() - _STANDARD_ATTRIBUTES:
            value = fields[key]
            if isinstance(value, str):
                fields[key] = redact(value)
        return True

    @staticmethod
    def _scrub_atom(key: str, value: Any) -> Any:
        if key.lower() in {"{authorization}i", "{http_authorization}e", "{cookie}i"}:
            return REDACTED
        return redact(value) if isinstance(value, str) else value


class JsonFormatter(_BaseJsonFormatter):
    """The project's log line: timestamp, level, logger, message, then context fields."""

    # Fields of gunicorn's access atoms worth keeping, under readable names.
    ACCESS_FIELDS = {
        "h": "remote_addr",
        "m": "method",
        "U": "path",
        "q": "query",
        "s": "status",
        "B": "response_bytes",
        "a": "user_agent",
        "{x-request-id}o": "request_id",
    }
    DROPPED = {"request", "server_time", "color_message"}
    LEADING = ("timestamp", "level", "logger", "message")

    def format(self, record: logging.LogRecord) -> str:
        """The library's format, built directly for a plain line: a dozen microseconds
        less on each of the two lines every prediction writes. Lines with an exception,
        a stack, a dict message or gunicorn's access atoms take the library's way, and
        tests/backoffice/test_logging.py holds the two to the same output."""
        if (
            record.exc_info
            or record.exc_text
            or record.stack_info
            or isinstance(record.msg, dict)
            or record.name == "gunicorn.access"
            or self._required_fields != ["message"]
        ):
            return super().format(record)
        record.message = record.getMessage()
        log_data = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.message,
        }
        skip, dropped, leading = self._skip_fields, self.DROPPED, self.LEADING
        for key, value in record.__dict__.items():
            if key in skip or key in dropped or key in leading or key.startswith("_"):
                continue
            log_data[key] = value
        return self.jsonify_log_record(log_data)

    def library_format(self, record: logging.LogRecord) -> str:
        """python-json-logger's own way for every line (what format must agree with)."""
        return super().format(record)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in self.DROPPED:
            log_data.pop(key, None)
        log_data["timestamp"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            for atom, field in self.ACCESS_FIELDS.items():
                value = record.args.get(atom)
                if value not in (None, "-", ""):
                    log_data[field] = value
            if "D" in record.args:
                log_data["duration_ms"] = round(record.args["D"] / 1000, 3)
            log_data["message"] = "request served"
        # A person reads timestamp, level, logger and message first.
        rest = {k: v for k, v in log_data.items() if k not in self.LEADING}
        leading = {k: log_data[k] for k in self.LEADING if k in log_data}
        log_data.clear()
        log_data.update(leading)
        log_data.update(rest)

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return redact(super().formatException(ei))

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        # Last line of defence: a secret that reached a field by another way.
        return redact(super().jsonify_log_record(log_data))


def dict_config(level: str = "INFO") -> dict[str, Any]:
    """The logging configuration for settings.LOGGING and gunicorn's logconfig_dict."""
    quiet = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "backoffice.core.ops.logconf.RequestContextFilter"},
            "redact": {"()": "backoffice.core.ops.logconf.RedactFilter"},
        },
        "formatters": {"json": {"()": "backoffice.core.ops.logconf.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["context", "redact"],
            }
        },
        # gunicorn's own logging config refuses a dictConfig without "root" once the
        # handlers are overridden (its glogging.Logger.setup).
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "django": {**quiet, "level": level},
            # runserver's own line per request repeats backoffice.request's (the access
            # log, with the request id): one line a request.
            "django.server": {**quiet, "level": "ERROR"},
            # Every SQL statement at DEBUG would drown the log and may carry values.
            "django.db.backends": {**quiet, "level": "INFO"},
            "gunicorn.error": {**quiet, "level": level},
            "gunicorn.access": {**quiet, "level": "INFO"},
            "py.warnings": {**quiet, "level": "WARNING"},
        },
    }


@contextmanager
def quieter(*names: str, level: int = logging.WARNING):
    """The loggers ``names`` at ``level`` for a block: a replay that records a trade at a
    time (the demo) logs its summary once rather than a line per call."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(level)
    try:
        yield
    finally:
        for each, old in zip(loggers, saved, strict=True):
            each.setLevel(old)
