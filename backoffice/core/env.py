"""Typed readers for settings that come from the environment.

Every secret can be given as ``NAME`` or as a file named by ``NAME_FILE`` (a Docker
secret under /run/secrets). The file wins when both are set, as with django-environ's
FileAwareEnv, but unlike it the value is stripped of surrounding white space: the
official postgres image reads its secret with ``$(< file)``, which drops a trailing
newline, so Django must too or the two sides disagree about the password.

Nothing in this module reads Django settings; it is imported by settings.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()

# Secret values read so far, so that the log filter can scrub them from log records
# (a frozen copy: the filter reads it for every string of every record).
_secret_values: frozenset[str] = frozenset()


class ConfigError(ImproperlyConfigured):
    """A setting is missing or malformed; the message names the variable."""


def registered_secrets() -> frozenset[str]:
    """The secret values read by this process (for the log redaction filter)."""
    return _secret_values


def remember_secret(value: str) -> None:
    """Register a value that must never appear in a log line."""
    global _secret_values
    if value and len(value) >= 4 and value not in _secret_values:
        _secret_values = _secret_values | {value}


def secret(
    name: str,
    *,
    required: bool,
    environ_: Mapping[str, str] | None = None,
) -> str | None:
    """Read a secret from ``NAME_FILE`` or ``NAME``.

    A missing secret raises ``ConfigError`` naming both variables when ``required``;
    an unreadable or empty file raises naming the file, whatever ``required`` says:
    an operator who points at a file expects it to be used.
    """
    source = os.environ if environ_ is None else environ_
    file_var = f"{name}_FILE"
    path = source.get(file_var, "").strip()
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise ConfigError(f"{file_var} names {path}, which does not exist") from None
        except (PermissionError, IsADirectoryError, UnicodeDecodeError) as exc:
            reason = type(exc).__name__
            raise ConfigError(f"{file_var} names {path}, which cannot be read ({reason})") from None
        if not value:
            raise ConfigError(f"{file_var} names {path}, which is empty")
        remember_secret(value)
        return value
    value = source.get(name, "").strip()
    if value:
        remember_secret(value)
        return value
    if required:
        raise ConfigError(f"{name} is not set: give it as {name} or as a file named by {file_var}")
    return None


# django-environ reads the values (its true words, its int and list casts); what it
# does not do is added here: a word that is neither true nor false, a number out of
# bounds and a malformed one are refused with the variable's name, never read as False
# or crash with a bare ValueError (a typo must not switch a safety off).
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n"})


def flag(name: str, default: bool = False) -> bool:
    """A boolean variable: 1/0, true/false, yes/no, on/off."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in environ.Env.BOOLEAN_TRUE_STRINGS and raw not in FALSE_WORDS:
        raise ConfigError(f"{name}={raw!r} is not a boolean: use 1 or 0")
    return _env.bool(name)


def integer(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number within bounds."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = _env.int(name)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ConfigError(f"{name}={value} must be at least {minimum}{upper}")
    return value


def number(name: str, default: float, *, minimum: float = 0.0) -> float:
    """A decimal number, at least ``minimum``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = _env.float(name)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value != value or value < minimum:  # NaN is no number of seconds either
        raise ConfigError(f"{name}={raw} must be at least {minimum}")
    return value


def text(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def string_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; empty items are dropped."""
    if not os.environ.get(name, "").strip():
        return list(default or [])
    return [item.strip() for item in _env.list(name) if item.strip()]


def path(name: str, default: Path) -> Path:
    raw = os.environ.get(name, "").strip()
    return Path(raw).expanduser().resolve() if raw else default


POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "timescale"}


def database_config(
    url: str, *, password: str | None, engine: str, name: str = "DATABASE_URL"
) -> dict:
    """Turn ``DATABASE_URL`` (or the variable ``name``) into a Django DATABASES entry.

    ``password`` (from ``POSTGRES_PASSWORD`` or its file) fills in a URL that carries
    none; a URL with its own password keeps it. Errors name the variable ``name``.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"{name} is malformed: {exc}") from None
    if parts.scheme not in POSTGRES_SCHEMES:
        scheme = parts.scheme or "(none)"
        raise ConfigError(
            f"{name} has scheme {scheme!r}: use postgres://user@host:port/name "
            f"(leave {name} unset "
            + ("for the embedded SQLite default)" if name == "DATABASE_URL" else "for none)")
        )
    if not parts.hostname or not parts.path.strip("/"):
        raise ConfigError(
            f"{name} is malformed: it needs a host and a database name, "
            "as in postgres://user@host:5432/name"
        )
    if parts.password:
        remember_secret(unquote(parts.password))
    elif password:
        netloc = parts.netloc
        user = quote(unquote(parts.username or ""), safe="")
        host = netloc.rsplit("@", 1)[-1]
        url = parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}").geturl()
    config = _env.db_url_config(url.replace("timescale://", "postgres://", 1))
    config["ENGINE"] = engine
    return config


def redis_url(url: str, *, password: str | None) -> str:
    """Put ``password`` (from ``REDIS_PASSWORD`` or its file) into a URL that has none."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL is malformed: {exc}") from None
    if parts.scheme not in {"redis", "rediss", "unix"} or not (parts.hostname or parts.path):
        raise ConfigError("REDIS_URL is malformed: use redis://host:6379/0")
    if parts.password:
        remember_secret(unquote(parts.password))
        return url
    if not password:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    user = quote(unquote(parts.username or ""), safe="")
    return parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}").geturl()
