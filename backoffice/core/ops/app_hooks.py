"""Project-wide operations, gathered from each app: bootstrap checks, TimescaleDB policies.

Every installed app may have an ``operations.py`` (discovered as ``demo`` finds each app's
``demo.py``) with any of:

    HYPERTABLES              the app's tables that are hypertables where TimescaleDB is
    apply_policies(cursor)   (re)set its TimescaleDB policies from the settings; returns
                             what was done, a line each (idempotent)
    bootstrap(report)        check what the app needs after migrate, calling
                             report(status, what, detail) with status OK, WARN or FAIL

``manage.py bootstrap`` and ``manage.py timescale_policies`` run them for every app; the
readiness checks of /readyz (backoffice.core.ops.health) run in bootstrap too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType

from django.apps import apps

Report = Callable[[str, str, str], None]


def app_modules(name: str) -> Iterator[tuple[str, ModuleType]]:
    """(app label, its module ``name``) for every installed app that has one (the
    project's hooks: ``operations``, ``demo``)."""
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.{name}":
                raise
            continue
        yield config.label, module


def app_operations() -> Iterator[tuple[str, ModuleType]]:
    return app_modules("operations")


def hypertables() -> list[str]:
    return [
        table for _label, module in app_operations() for table in getattr(module, "HYPERTABLES", ())
    ]


def apply_policies(cursor) -> list[str]:
    """Every app's TimescaleDB policies, (re)applied from the settings."""
    done: list[str] = []
    for label, module in app_operations():
        apply = getattr(module, "apply_policies", None)
        if apply is not None:
            done.extend(f"{label}: {line}" for line in apply(cursor))
    return done


def bootstrap(report: Report) -> None:
    for _label, module in app_operations():
        check = getattr(module, "bootstrap", None)
        if check is not None:
            check(report)
