"""Exact sums of money on every database.

PostgreSQL sums a numeric column exactly. SQLite (the embedded default of ``make run``)
keeps a decimal column as a binary float and sums floats: 300 demo trades summed to
9029.95000000001. On SQLite every connection gets ``decimal_sum(x)``, an aggregate that
reads each value back at the 15 significant digits SQLite stores (as Django reads a
single value), adds them as Decimals and answers the exact total as text. Python's own
aggregate costs about a microsecond a row, nothing at the embedded default's sizes.

``ExactSum`` is the Django aggregate (``SUM`` on PostgreSQL, ``decimal_sum`` on SQLite);
``SUM_FUNCTION`` names the function for SQL written by hand; ``DecimalResult`` reads
either answer as a Decimal.
"""

from __future__ import annotations

from decimal import Context, Decimal

from django.db import models
from django.db.backends.signals import connection_created

SUM_FUNCTION = {"postgresql": "sum", "sqlite": "decimal_sum"}

# SQLite keeps 15 significant digits of a REAL: the float read at that precision is the
# decimal that was stored.
_FROM_FLOAT = Context(prec=15).create_decimal_from_float


def stored_decimal(value) -> Decimal:
    """A value of a decimal column as SQLite hands it over (int, float or text)."""
    if isinstance(value, float):
        return _FROM_FLOAT(value)
    return Decimal(value)


class DecimalSum:
    """The ``decimal_sum`` aggregate of SQLite connections: NULL for no values."""

    def __init__(self):
        self.total: Decimal | None = None

    def step(self, value) -> None:
        if value is None:
            return
        amount = stored_decimal(value)
        self.total = amount if self.total is None else self.total + amount

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("decimal_sum", 1, DecimalSum)


connection_created.connect(register_sqlite_functions, dispatch_uid="backoffice.core.db.money")


class DecimalResult(models.Field):
    """The output field of an exact aggregate: numeric on PostgreSQL, text on SQLite
    (never the float SQLite's decimal converter would start from)."""

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, Decimal):
            return value
        return stored_decimal(value)


class ExactSum(models.Aggregate):
    """``Sum`` of a decimal column, exact on PostgreSQL and on SQLite."""

    function = "SUM"
    name = "ExactSum"
    allow_distinct = False

    def __init__(self, expression, **extra):
        super().__init__(expression, output_field=DecimalResult(), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="DECIMAL_SUM", **extra_context)
