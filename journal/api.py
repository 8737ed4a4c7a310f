"""The trades API: POST/GET /api/v1/trades and GET /api/v1/metrics."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import pagination, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.parsers import JSONParser
from backoffice.api_auth import scope
from journal import metrics
from journal.filters import MetricsFilter, TradeFilter
from journal.models import Trade
from journal.records import FIELDS
from journal.services import SpoolUnavailable, TradesRejected, record_trades

logger = logging.getLogger(__name__)


class TradeInSerializer(serializers.Serializer):
    """The trade record format (documentation of the body; journal.records validates)."""

    trade_id = serializers.CharField(max_length=64)
    executed_at = serializers.DateTimeField(help_text="ISO 8601 with offset; position opened")
    closed_at = serializers.DateTimeField(required=False, allow_null=True)
    symbol = serializers.CharField(max_length=32)
    side = serializers.ChoiceField(choices=["long", "short"])
    quantity = serializers.DecimalField(max_digits=20, decimal_places=8)
    entry_price = serializers.DecimalField(max_digits=20, decimal_places=8)
    exit_price = serializers.DecimalField(
        max_digits=20, decimal_places=8, required=False, allow_null=True
    )
    fees = serializers.DecimalField(max_digits=20, decimal_places=8, required=False)
    pnl = serializers.DecimalField(max_digits=20, decimal_places=8, required=False, allow_null=True)
    strategy = serializers.CharField(max_length=64, required=False, allow_blank=True)
    account = serializers.CharField(max_length=64, required=False, allow_blank=True)
    broker_order_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    agent_votes = serializers.DictField(required=False)
    signals = serializers.DictField(required=False)
    model_version = serializers.CharField(
        required=False, allow_blank=True, help_text="name@version"
    )
    confidence = serializers.DecimalField(
        max_digits=5, decimal_places=4, required=False, allow_null=True
    )


class TradeOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trade
        fields = ["id", *FIELDS, "status", "recorded_at"]


CAPTURED = inline_serializer(
    "TradesCaptured",
    {
        "created": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "closed": serializers.IntegerField(help_text="open trades completed by this batch"),
    },
)
SPOOLED = inline_serializer("TradesSpooled", {"spooled": serializers.IntegerField()})
ITEM_ERRORS = inline_serializer(
    "TradeErrors",
    {
        "detail": serializers.CharField(),
        "errors": inline_serializer(
            "TradeFieldError",
            {
                "index": serializers.IntegerField(),
                "field": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
            required=False,
            help_text="one entry per bad field; absent when the batch as a whole is refused "
            "(empty, too long, malformed JSON)",
        ),
    },
)
DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
# DRF's and django-filter's validation errors: each bad field (or filter) with its
# messages; `detail` alone for a body that is not JSON.
FIELD_ERRORS = OpenApiResponse(
    {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    description='each bad field with its messages, e.g. {"until": ["Enter a valid date/time."]}',
)
METRICS_REPORT = inline_serializer(
    "MetricsReport",
    {
        "summary": serializers.DictField(help_text="the figures of the README's table"),
        "by_day": serializers.ListField(child=serializers.DictField()),
        "by_symbol": serializers.ListField(child=serializers.DictField()),
        "by_strategy": serializers.ListField(child=serializers.DictField()),
    },
)


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination, but a cursor it did not issue is a 400 naming `cursor`.

    DRF answers 404 "Invalid cursor", which reads as a missing resource.
    """

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {"cursor": ["not a cursor this API issued: use a next or previous link"]}
            ) from None


class TradeCursorPagination(CursorPagination):
    # The partition column first: ORDER BY id over every chunk is slow (TIMESCALEDB.md).
    ordering = ("-executed_at", "-id")
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000


class TradesView(ListAPIView):
    """Record trades (bots) and list them (filters, cursor pagination)."""

    parser_classes = [JSONParser]
    body_limit_mb = "JOURNAL_MAX_BODY_MB"
    serializer_class = TradeOutSerializer
    pagination_class = TradeCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = TradeFilter
    queryset = Trade.objects.all()

    def get_permissions(self):
        if self.request.method == "POST":
            return [scope("trades:write", "journal.add_trade")()]
        return [scope("trades:read", "journal.view_trade")()]

    @extend_schema(
        summary="Record trades",
        request=PolymorphicProxySerializer(
            component_name="TradeBatch",
            serializers=[TradeInSerializer, TradeInSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: CAPTURED,
            202: OpenApiResponse(SPOOLED, description="database down: trades spooled"),
            400: ITEM_ERRORS,
            503: OpenApiResponse(DETAIL, description="database down and spool full"),
        },
    )
    def post(self, request):
        items = request.data if isinstance(request.data, list) else [request.data]
        limit = settings.JOURNAL_MAX_BATCH
        if not items:
            return Response({"detail": "send at least one trade"}, status=400)
        if len(items) > limit:
            return Response(
                {"detail": f"at most {limit} trades per request (got {len(items)})"}, status=400
            )
        try:
            result = record_trades(items, source="api")
        except TradesRejected as exc:
            return Response(
                {
                    "detail": f"{len(exc.errors)} of {exc.total} trade(s) invalid; "
                    "nothing was stored",
                    "errors": [
                        {"index": index, "field": field, "message": message}
                        for index, fields in exc.errors.items()
                        for field, message in fields.items()
                    ],
                },
                status=400,
            )
        except SpoolUnavailable as exc:
            return Response({"detail": str(exc)}, status=503, headers={"Retry-After": "30"})
        if result.spooled:
            return Response({"spooled": result.spooled}, status=status.HTTP_202_ACCEPTED)
        return Response(
            {"created": result.created, "duplicates": result.duplicates, "closed": result.closed},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="List trades, newest first",
        responses={200: TradeOutSerializer, 400: FIELD_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


GROUPS = ("day", "symbol", "strategy")


class MetricsView(APIView):
    """Performance figures for a filter (the time range is on closed_at)."""

    permission_classes = [scope("trades:read", "journal.view_trade")]

    @extend_schema(
        summary="Performance metrics",
        parameters=[
            *(OpenApiParameter(name, str) for name in ("symbol", "strategy", "account")),
            OpenApiParameter("side", str, enum=["long", "short"]),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="closed_at from"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="closed_at before"),
        ],
        responses={200: METRICS_REPORT, 400: DETAIL},
    )
    def get(self, request):
        filterset = MetricsFilter(request.query_params, queryset=Trade.objects.all())
        if not filterset.is_valid():
            return Response({"detail": "invalid filter", "errors": filterset.errors}, status=400)
        result = metrics.report_for(filterset)
        return Response(_jsonable(result))


def _jsonable(value):
    """Decimals as strings (exact), durations as seconds, dates as ISO text."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.00000001')):f}" if value.is_finite() else None
    if hasattr(value, "total_seconds"):
        return value.total_seconds()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
