"""Prediction records: what was asked of a model version and what it answered.

One row per answered request (not per predicted row): a request of 10,000 rows is one
row here, and each predicted row's id is the request's id and the row's index
(``<id hex>-<row>``, serving.live.recorder.prediction_id). A hypertable on ``requested_at``
in daily chunks where TimescaleDB is installed, dropped after
SERVING_RECORD_RETENTION_DAYS by a retention policy (elsewhere by the job engine's
prune, serving.tasks). Rows are written off the request path by each worker's recorder
(serving.live.recorder), in batches; nothing edits them.
"""

from django.db import models
from timescale.db.models.fields import TimescaleDateTimeField

from models_registry.models import ModelAlias


class Protocol(models.TextChoices):
    PREDICT = "predict", "POST /api/v1/models/{name}/predict"
    V2 = "v2", "Open Inference Protocol (V2) infer"
    INVOCATIONS = "invocations", "MLflow scoring (invocations)"


class RecordRole(models.TextChoices):
    CHAMPION = "champion", "champion (answered)"
    CHALLENGER = "challenger", "challenger (answered, canary)"
    SHADOW = "shadow", "shadow (scored beside the answer, not answered)"


class PredictionRecord(models.Model):
    # A UUID version 7: its first 48 bits are the request's time in milliseconds, so a
    # prediction id also says where in time (which chunk) its record is.
    id = models.UUIDField(primary_key=True, editable=False)
    requested_at = TimescaleDateTimeField(interval="1 day")
    # The registry's version (no database constraint: records are a hypertable whose old
    # chunks are dropped, and versions are never deleted).
    model_version = models.ForeignKey(
        "models_registry.ModelVersion",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    model = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    alias = models.CharField(max_length=50, blank=True, default="")
    protocol = models.CharField(max_length=12, choices=Protocol.choices)
    rows = models.PositiveIntegerField()
    # The rows as numbers in the version's feature order, and one output a row (null
    # where the model gave no finite number). Inputs are null if they could not be kept.
    inputs = models.JSONField(null=True)
    outputs = models.JSONField()
    cached = models.BooleanField()
    latency_ms = models.FloatField(help_text="the service's time, parse to answer")
    request_id = models.CharField(max_length=128, blank=True, default="")
    # Who asked: an API key's name (never the key) or a staff user's name.
    api_key = models.CharField(max_length=100, blank=True, default="")
    username = models.CharField(max_length=150, blank=True, default="")
    # The sampling rate in force: the request stands for 1 / sample_rate requests.
    sample_rate = models.FloatField(default=1.0)
    # With a challenger on the alias (serving.live.challenger_routing): "champion" or "challenger"
    # for the version that answered; "shadow" for the other one's score of the same
    # rows, made off the request path, whose shadow_of is the answer's record.
    role = models.CharField(max_length=10, choices=RecordRole.choices, blank=True, default="")
    shadow_of = models.UUIDField(null=True, blank=True)

    class Meta:
        indexes = [
            # A version's live figures: its records of a period (serving.live.figures).
            models.Index(
                fields=["model_version", "-requested_at"], name="serving_record_version_idx"
            ),
            # The admin's list, newest first.
            models.Index(fields=["-requested_at"], name="serving_record_time_idx"),
            # A comparison's pairs: the shadow scores of a period, joined to their answers.
            models.Index(
                fields=["shadow_of"],
                name="serving_record_shadow_idx",
                condition=models.Q(shadow_of__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.id.hex} {self.model}@{self.version} ({self.rows} rows)"


class ModelHealth(ModelAlias):
    """Every model's production alias, judged live (the admin's model-health list,
    serving.live.health_admin): a view of the registry's aliases, no table of its own."""

    class Meta:
        proxy = True
        verbose_name = "model health"
        verbose_name_plural = "model health"
