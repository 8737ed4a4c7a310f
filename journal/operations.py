"""The journal's part of the project-wide operations (backoffice.core.ops.app_hooks)."""

from __future__ import annotations

from journal.timescale import apply_policies  # noqa: F401 - trade compression, daily P&L

HYPERTABLES = ("journal_trade",)


def bootstrap(report) -> None:
    from django.contrib.auth.models import Group

    from journal.instruments import instruments_seed
    from journal.models import Instrument

    created = instruments_seed()
    report(
        "OK",
        "instruments",
        f"{Instrument.objects.count()} ({created} created from the catalogue)",
    )
    for name in ("Reviewer", "Operator"):
        group = Group.objects.filter(name=name).first()
        count = group.permissions.count() if group else 0
        report("OK" if count else "FAIL", f"group {name}", f"{count} permission(s)")
