"""TimescaleDB features of the prediction records: their retention policy.

Where the extension is not installed the job engine deletes old records instead
(serving.tasks.prune_prediction_records).
"""

from __future__ import annotations

from django.conf import settings

RECORDS_TABLE = "serving_predictionrecord"


def apply_policies(cursor) -> list[str]:
    """Drop record chunks older than SERVING_RECORD_RETENTION_DAYS; idempotent."""
    keep = settings.SERVING_RECORD_RETENTION_DAYS
    cursor.execute("SELECT remove_retention_policy(%s, if_exists => true)", [RECORDS_TABLE])
    cursor.execute("SELECT add_retention_policy(%s, %s::interval)", [RECORDS_TABLE, f"{keep} days"])
    return [f"retention of prediction records: {keep} days"]
