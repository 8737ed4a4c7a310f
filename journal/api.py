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
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api.pagination import CursorPagination
from backoffice.core.api.parsers import JSONParser
from backoffice.core.api.permissions import scope
from backoffice.core.db.routers import reads_from_replica
from backoffice.core.errors import DomainError
from journal.analytics import metrics
from journal.domain.trade_record import FIELDS, SIDES, SPEC, Field
from journal.models import Trade
from journal.query_filters import MetricsFilter, TradeFilter
from journal.write.capture import record_trades

logger = logging.getLogger(__name__)


def _documented(spec: Field) -> serializers.Field:
    """The DRF field that documents one field of the format in the schema (the view
    validates with journal.domain.trade_record.parse_record, not with this)."""
    optional = {} if spec.required else {"required": False}
    if spec.kind in ("text", "symbol", "model_version"):
        field = serializers.CharField(
            max_length=spec.max_length, allow_blank=not spec.required, **optional
        )
    elif spec.kind == "time":
        field = serializers.DateTimeField(allow_null=not spec.required, **optional)
    elif spec.kind == "side":
        field = serializers.ChoiceField(choices=list(SIDES))
    elif spec.kind == "json":
        field = serializers.DictField(**optional)
    elif spec.kind == "confidence":
        field = serializers.DecimalField(
            max_digits=5, decimal_places=4, allow_null=True, **optional
        )
    else:  # decimal
        field = serializers.DecimalField(
            max_digits=20, decimal_places=8, allow_null=not spec.required, **optional
        )
    field.help_text = spec.help or None
    return field


TradeInSerializer = type(
    "TradeInSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "A trade as a bot records it: `trade_id` and `executed_at` together "
        "identify it, so sending it again stores nothing twice.",
        **{spec.name: _documented(spec) for spec in SPEC},
    },
)


class TradeOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trade
        fields = ["id", *FIELDS, "status", "recorded_at"]


WARNINGS = serializers.ListField(
    child=inline_serializer(
        "TradeWarning",
        {
            "index": serializers.IntegerField(help_text="the trade's place in the batch"),
            "field": serializers.CharField(help_text="the field flagged"),
            "message": serializers.CharField(),
        },
    ),
    help_text="What the checks against the trade's instrument flagged: a price off the "
    "tick, a quantity off the quantity step, a P&L that differs from (exit - entry) x "
    "quantity x point value (negated for a short), less fees. Flagged trades are stored "
    "as sent, with their flags (a broker filled them); empty when nothing is odd or the "
    "symbol is no instrument.",
)
CAPTURED = inline_serializer(
    "TradesCaptured",
    {
        "created": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "closed": serializers.IntegerField(help_text="open trades completed by this batch"),
        "warnings": WARNINGS,
    },
)
SPOOLED = inline_serializer(
    "TradesSpooled", {"spooled": serializers.IntegerField(), "warnings": WARNINGS}
)
METRICS_REPORT = inline_serializer(
    "MetricsReport",
    {
        "summary": serializers.DictField(
            help_text="The figures of the filtered closed trades: count, wins, losses, win "
            "rate, net P&L, average and largest win and loss, profit factor, expectancy "
            "(in money and in R, from the trades with an initial stop), maximum drawdown, "
            "Sharpe and Sortino ratios, average holding time."
        ),
        "by_day": serializers.ListField(
            child=serializers.DictField(), help_text="One row per UTC closing day, oldest first."
        ),
        "by_symbol": serializers.ListField(child=serializers.DictField()),
        "by_strategy": serializers.ListField(child=serializers.DictField()),
        "by_side": serializers.ListField(child=serializers.DictField()),
        "by_weekday": serializers.ListField(
            child=serializers.DictField(), help_text="By the UTC weekday of closing."
        ),
        "by_hour": serializers.ListField(
            child=serializers.DictField(), help_text="By the UTC hour of opening."
        ),
        "r_histogram": serializers.ListField(
            child=serializers.DictField(),
            help_text="Trades by R-multiple bucket (trades with an initial stop only).",
        ),
    },
)


class TradeCursorPagination(CursorPagination):
    # The partition column first: chunks are ordered by executed_at, so the time index
    # serves the page; ORDER BY id alone would sort every chunk's rows.
    ordering = ("-executed_at", "-id")


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
        description="One trade or a list of up to 1,000 (scope `trades:write`). Sending "
        "a trade again stores nothing twice; sending it with its close completes it. "
        "While the database is down the batch is spooled and answered 202. A trade "
        "whose prices, quantity or P&L do not fit its instrument is stored and flagged, "
        "and listed in `warnings`; a trade dated later than now plus the server's "
        "clock-skew allowance, or naming an `idea_id` that does not exist, is refused.",
        request=PolymorphicProxySerializer(
            component_name="TradeBatch",
            serializers=[TradeInSerializer, TradeInSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: CAPTURED,
            202: OpenApiResponse(SPOOLED, description="database down: trades spooled"),
            400: OpenApiResponse(
                description="Invalid trades, nothing stored: `errors` names every bad "
                "field of every trade at once (`index` in the batch, `field`, `message`)."
            ),
            503: OpenApiResponse(description="The database is down and the spool full."),
        },
    )
    def post(self, request):
        items = request.data if isinstance(request.data, list) else [request.data]
        limit = settings.JOURNAL_MAX_BATCH
        if not items:
            raise DomainError("send at least one trade", field="body")
        if len(items) > limit:
            raise DomainError(
                f"at most {limit} trades per request (got {len(items)})", field="body"
            )
        result = record_trades(items, source="api")  # TradesRejected, SpoolUnavailable
        if result.spooled:
            return Response(
                {"spooled": result.spooled, "warnings": result.warnings},
                status=status.HTTP_202_ACCEPTED,
            )
        return Response(
            {
                "created": result.created,
                "duplicates": result.duplicates,
                "closed": result.closed,
                "warnings": result.warnings,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="List trades, newest first",
        description="The recorded trades, filtered by the parameters below (all of them "
        "at once), newest first, a page at a time (scope `trades:read`).",
        responses={200: TradeOutSerializer},
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
            OpenApiParameter("symbol", str, description="A symbol, in any case."),
            OpenApiParameter("strategy", str, description="The strategy's name, exactly."),
            OpenApiParameter("account", str, description="The account's name, exactly."),
            OpenApiParameter("side", str, enum=["long", "short"], description="long or short."),
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Closed at or after this time (ISO 8601 with an offset).",
            ),
            OpenApiParameter(
                "until",
                OpenApiTypes.DATETIME,
                description="Closed before this time (ISO 8601 with an offset).",
            ),
        ],
        responses={200: METRICS_REPORT},
    )
    @reads_from_replica
    def get(self, request):
        filterset = MetricsFilter(request.query_params, queryset=Trade.objects.all())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
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
