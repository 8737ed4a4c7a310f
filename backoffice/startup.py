"""Start-up errors as one clear line instead of a wall of traceback.

A missing secret, a malformed DATABASE_URL or an unreachable database is an operator's
problem with an operator's fix; the message names the cause and nothing else.
"""

import sys

from django.core.exceptions import ImproperlyConfigured


def run_command_line(argv: list[str]) -> int:
    """Run a manage.py command; configuration and connection errors exit with one line."""
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    from backoffice.core.ops.logconf import redact

    try:
        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        print(f"configuration error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"database unreachable: {describe_operational_error(exc)}", file=sys.stderr)
        return 3
    return 0


def describe_operational_error(exc: Exception) -> str:
    """The first line of a connection error, without credentials."""
    from backoffice.core.ops.logconf import redact

    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return redact(lines[0] if lines else type(exc).__name__)


def check_configuration() -> str | None:
    """Load the settings; return the configuration error's message, or None."""
    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    except ImproperlyConfigured as exc:
        from backoffice.core.ops.logconf import redact

        return redact(str(exc))
    return None


def warn_if_database_unreachable(log) -> None:
    """Log one warning when the database cannot be reached; serving goes on (readyz)."""
    import django
    from django.db import OperationalError, connections

    django.setup()
    connection = connections["default"]
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        log.warning(
            "database unreachable at start-up: %s (serving goes on; /readyz says 503)",
            describe_operational_error(exc),
        )
    finally:
        connection.close()
