"""GET /api/v1/models/{name}/versions/{version}/performance: a version judged live."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api.permissions import access
from backoffice.core.db.routers import reads_from_replica
from backoffice.core.text import plain_digits as _plain_digits
from models_registry import selectors
from models_registry.errors import NotFound
from serving.api_parameters import MODEL_NAME
from serving.errors import InvalidInput
from serving.live.figures import version_performance

MAX_DAYS = 3650


class TradesSerializer(serializers.Serializer):
    trades = serializers.IntegerField(help_text="closed trades from its predictions")
    wins = serializers.IntegerField(help_text="trades with pnl > 0")
    losses = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)
    net_pnl = serializers.CharField(help_text="a decimal, as a string")
    expectancy = serializers.CharField(allow_null=True, help_text="net P&L / trades")
    trades_with_stop = serializers.IntegerField()
    average_r = serializers.FloatField(
        allow_null=True,
        help_text="mean of (exit - entry) / (entry - stop) (mirrored for shorts) over the "
        "trades with a stop",
    )
    total_r = serializers.FloatField(allow_null=True)


class CalibrationBinSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()
    trades = serializers.IntegerField()
    mean_predicted = serializers.FloatField(allow_null=True)
    win_rate = serializers.FloatField(allow_null=True)


class CalibrationSerializer(serializers.Serializer):
    trades = serializers.IntegerField(help_text="trades whose prediction was recorded")
    brier = serializers.FloatField(allow_null=True, help_text="mean of (p - won)^2")
    ece = serializers.FloatField(
        allow_null=True,
        help_text="expected calibration error: trades-weighted mean |mean p - win rate|",
    )
    bins = CalibrationBinSerializer(many=True, help_text="ten bins of predicted probability")


class VolumeSerializer(serializers.Serializer):
    recorded = serializers.IntegerField()
    requests = serializers.FloatField(help_text="recorded requests, each / its sampling rate")
    rows = serializers.FloatField()
    cached_share = serializers.FloatField(allow_null=True)
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)
    latency_p99_ms = serializers.FloatField(allow_null=True)
    per_day = serializers.ListField(
        child=serializers.ListField(), help_text="[UTC day, requests] pairs"
    )


class FeatureDriftSerializer(serializers.Serializer):
    feature = serializers.CharField()
    psi = serializers.FloatField(allow_null=True)


class DriftSerializer(serializers.Serializer):
    known = serializers.BooleanField(
        help_text="false without a training distribution or live rows (reason says which)"
    )
    reason = serializers.CharField()
    source = serializers.CharField(help_text="where the training distribution came from")
    reference_rows = serializers.IntegerField()
    live_rows = serializers.IntegerField()
    features = FeatureDriftSerializer(many=True)
    max_psi = serializers.FloatField(allow_null=True)
    worst_feature = serializers.CharField()


class PerformanceSerializer(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.IntegerField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    training_metrics = serializers.DictField(help_text="as registered (AUC, log loss, ...)")
    trades = TradesSerializer()
    calibration = CalibrationSerializer(
        allow_null=True, help_text="null when the version's output is not a probability"
    )
    volume = VolumeSerializer()
    drift = DriftSerializer()
    marks = serializers.ListField(
        child=serializers.ChoiceField(choices=["drift", "calibration"]),
        help_text="what is past the configured thresholds",
    )
    thresholds = serializers.DictField()


class PerformanceView(APIView):
    # The P&L its predictions made, for a reporting key or the engine that asks for
    # them; a staff session that may read the version in the admin (its page shows it).
    permission_classes = [
        access(scopes=("trades:read", "predict"), perm="models_registry.view_modelversion")
    ]

    @extend_schema(
        operation_id="models_version_performance",
        summary="A version judged live: its trades, calibration, traffic and drift",
        description="Closed trades whose idea came from one of the version's predictions "
        "(prediction → idea.prediction_id → trade.idea_id), counted in the period they "
        "closed in: count, win rate, net P&L, expectancy, R where the trade had a stop; "
        "calibration of its predicted probabilities against the trades' outcomes; the "
        "volume and latency of its recorded predictions; the population stability index "
        "of each feature against its training distribution. Beside them its training "
        "metrics, the thresholds and the marks past them.",
        parameters=[
            MODEL_NAME,
            OpenApiParameter(
                "version", int, OpenApiParameter.PATH, description="The version number."
            ),
            OpenApiParameter("days", int, description="the period: the last N days (default 30)"),
        ],
        responses={
            200: PerformanceSerializer,
            400: OpenApiResponse(description="days is not a whole number from 1 to 3650."),
            401: OpenApiResponse(description="No or an invalid API key."),
            403: OpenApiResponse(description="The key lacks trades:read and predict."),
            404: OpenApiResponse(description="Unknown model or version."),
        },
        tags=["models"],
    )
    @reads_from_replica
    def get(self, request, name: str, version: int):
        raw_days = request.query_params.get("days")
        days = None
        if raw_days is not None:
            if not _plain_digits(raw_days) or not 1 <= int(raw_days) <= MAX_DAYS:
                raise InvalidInput(
                    f"days must be a whole number from 1 to {MAX_DAYS}", field="days"
                )
            days = int(raw_days)
        if not 0 < version < 2**31:
            raise NotFound(f"model {name!r} has no version {version}", field="version")
        target = selectors.version_get(model_name=name, version=version)
        return Response(version_performance(version=target, days=days).as_dict())
