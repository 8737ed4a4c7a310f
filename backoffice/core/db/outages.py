"""Telling a database outage from a problem with the data."""

from django.db import InterfaceError, OperationalError


def is_database_outage(exc: BaseException) -> bool:
    """True for a failure to reach the database, False for a problem with the data."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    try:
        from psycopg import errors as pg_errors
    except ImportError:  # SQLite-only installs
        return True
    # Deadlocks and serialisation failures are the data's business, not an outage.
    return not isinstance(exc.__cause__, pg_errors.TransactionRollback)
