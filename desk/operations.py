"""The desk's part of the project-wide operations (backoffice.core.ops.app_hooks)."""

from __future__ import annotations

from desk.timescale import SNAPSHOT_TABLES, apply_policies  # noqa: F401 - retention, compression

HYPERTABLES = ("desk_decision", *SNAPSHOT_TABLES)


def bootstrap(report) -> None:
    from django.contrib.auth.models import Group

    from desk.services import risk_config_get

    config = risk_config_get()
    state = "on" if config.ai_trading_enabled else "off"
    report("OK", "risk config", f"one row (AI trading {state})")
    group = Group.objects.filter(name="Risk manager").first()
    count = group.permissions.count() if group else 0
    report("OK" if count else "FAIL", "group Risk manager", f"{count} permission(s)")
