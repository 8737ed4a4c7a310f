"""The serving app's part of the project-wide operations (backoffice.core.ops.app_hooks)."""

from __future__ import annotations

from serving.timescale import RECORDS_TABLE, apply_policies  # noqa: F401 - record retention

HYPERTABLES = (RECORDS_TABLE,)


def bootstrap(report) -> None:
    from django.conf import settings

    rate = settings.SERVING_RECORD_SAMPLE_RATE
    report(
        "OK" if rate > 0 else "WARN",
        "prediction records",
        f"sampling {rate:g} of predictions, kept {settings.SERVING_RECORD_RETENTION_DAYS} days"
        + ("" if rate > 0 else ": no prediction is recorded, live model figures stay empty"),
    )
