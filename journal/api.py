"""The trades API: POST/GET /api/v1/trades and GET /api/v1/metrics."""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.utils import timezone
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
from backoffice.core.formatting import CURRENCY_DECIMALS
from journal.analytics import metrics, positions
from journal.domain.trade_record import FIELDS, FIGURE_COLUMNS, JSON_FIELDS, SIDES, SPEC, Field
from journal.instruments import instrument_for
from journal.models import Trade
from journal.query_filters import MetricsFilter, TradeFilter
from journal.selectors import open_trades
from journal.write.capture import record_trades
from journal.write.exports import field_decimals, figure_text, figure_values, plain_decimal

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


def _shown(spec: Field) -> serializers.Field:
    """The DRF field that documents one field of the format as GET answers it: decimals
    as strings at the trade's instrument's decimals (prices at its price decimals, the
    quantity at its quantity step's, fees and P&L at its currency's; as stored where the
    symbol is no instrument)."""
    if spec.kind == "id":
        return serializers.IntegerField(allow_null=True, help_text=spec.help or None)
    if spec.kind == "decimal":
        field = serializers.CharField(
            allow_null=True,
            help_text=f"{spec.help + '; ' if spec.help else ''}a decimal string at the "
            "instrument's decimals",
        )
        return field
    return _documented(spec)


FIGURES_HELP = {
    "r_multiple": "The R-multiple: the price move in the trade's favour over its initial "
    "risk |entry - stop| (four places); null while open or without a stop.",
    "holding_seconds": "closed_at - executed_at in seconds; null while open.",
    "mae": "Maximum adverse excursion in price (at the instrument's price decimals), from "
    "the stored market bars; null where no bars cover the trade.",
    "mfe": "Maximum favourable excursion in price, likewise.",
    "mae_r": "The MAE in R (four places); null without a stop or bars.",
    "mfe_r": "The MFE in R (four places); null without a stop or bars.",
}


class _TradeOut(serializers.Serializer):
    """A trade as GET /trades answers it: the record format (decimals at the
    instrument's decimals), its status, its figures (R-multiple, holding time, MAE and
    MFE where the stored bars cover it) and its review's tags and mistakes."""

    def to_representation(self, trade):
        excursions = self.context.get("excursions")
        if excursions is None:  # one trade on its own: measured now
            excursions = measured_excursions([trade])
        instrument = instrument_for(trade.symbol)
        out = {"id": trade.pk}
        for name in FIELDS:
            value = getattr(trade, name)
            if isinstance(value, Decimal):
                out[name] = plain_decimal(value, field_decimals(name, instrument))
            elif name in JSON_FIELDS or value is None or isinstance(value, int | str):
                out[name] = value
            else:
                out[name] = value.isoformat()
        out["status"] = trade.status
        out["recorded_at"] = trade.recorded_at.isoformat().replace("+00:00", "Z")
        figures = figure_values(trade, excursions.get(trade.pk))
        out.update({n: figure_text(n, figures[n], instrument) for n in FIGURE_COLUMNS})
        review = _review(trade)
        out["tags"] = list(review.tags) if review else []
        out["mistakes"] = list(review.mistakes) if review else []
        return out


TradeOutSerializer = type(
    "TradeOutSerializer",
    (_TradeOut,),
    {
        "__doc__": _TradeOut.__doc__,
        "id": serializers.IntegerField(),
        **{spec.name: _shown(spec) for spec in SPEC},
        "status": serializers.ChoiceField(choices=["open", "closed"]),
        "recorded_at": serializers.DateTimeField(),
        **{
            name: serializers.CharField(allow_null=True, help_text=help_text)
            for name, help_text in FIGURES_HELP.items()
        },
        "tags": serializers.ListField(
            child=serializers.CharField(), help_text="The review's tags (one spelling each)."
        ),
        "mistakes": serializers.ListField(
            child=serializers.CharField(), help_text="The mistakes the review names."
        ),
    },
)


def _review(trade):
    from journal.models import TradeReview

    try:
        return trade.review
    except TradeReview.DoesNotExist:
        return None


def measured_excursions(trades) -> dict:
    from journal.analytics.excursions import excursions

    return excursions(trades)


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
        "at once), newest first, a page at a time (scope `trades:read`). Each carries "
        "its figures (R-multiple, holding time, MAE and MFE where the stored market "
        "bars cover it) and its review's tags and mistakes; decimals are strings at "
        "the instrument's decimals.",
        responses={200: TradeOutSerializer},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return Trade.objects.select_related("review")

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        # The page's MAE / MFE in one query of the bars.
        context = {**self.get_serializer_context(), "excursions": measured_excursions(page)}
        serializer = self.get_serializer(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)


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


# -- open positions ------------------------------------------------------------------------


class PositionSerializer(serializers.Serializer):
    """An open trade and where it stands at the latest stored market bar: money at the
    quote currency's decimals, prices at the instrument's, R to four places; a figure
    that cannot be made is null, with the reason in ``problem``."""

    id = serializers.IntegerField()
    trade_id = serializers.CharField()
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=list(SIDES))
    quantity = serializers.CharField(help_text="at the instrument's quantity step")
    entry_price = serializers.CharField(help_text="at the instrument's price decimals")
    stop_loss = serializers.CharField(allow_null=True, help_text="the initial stop")
    executed_at = serializers.DateTimeField()
    age_seconds = serializers.IntegerField(help_text="now - executed_at, whole seconds")
    strategy = serializers.CharField()
    account = serializers.CharField()
    model_version = serializers.CharField()
    price = serializers.CharField(
        allow_null=True, help_text="the latest bar's close (null without a bar since the entry)"
    )
    price_at = serializers.DateTimeField(allow_null=True, help_text="when that bar began")
    price_timeframe = serializers.CharField(allow_null=True, help_text="M1, M5, ... D1")
    currency = serializers.CharField(help_text="the quote currency ('' without an instrument)")
    unrealised_pnl = serializers.CharField(
        allow_null=True,
        help_text="(price - entry) x quantity x point value (negated for a short), less the "
        "fees recorded so far, at the currency's decimals",
    )
    unrealised_r = serializers.CharField(
        allow_null=True, help_text="the move in the trade's favour over |entry - stop|"
    )
    risk_to_stop = serializers.CharField(
        allow_null=True,
        help_text="what the position gives back from the price if its initial stop is hit, "
        "(price - stop) x quantity x point value for a long; negative: past the stop",
    )
    problem = serializers.CharField(help_text="why a figure is null ('' when none is)")

    def to_representation(self, position):
        trade, bar = position.trade, position.bar
        instrument = instrument_for(trade.symbol)
        money_places = CURRENCY_DECIMALS.get(position.currency, 2)

        def money(value):
            if value is None:
                return None
            return plain_decimal(
                value.quantize(Decimal(1).scaleb(-money_places), rounding=ROUND_HALF_EVEN),
                money_places,
            )

        r = position.unrealised_r
        return {
            "id": trade.pk,
            "trade_id": trade.trade_id,
            "symbol": trade.symbol,
            "side": trade.side,
            "quantity": plain_decimal(trade.quantity, field_decimals("quantity", instrument)),
            "entry_price": plain_decimal(
                trade.entry_price, field_decimals("entry_price", instrument)
            ),
            "stop_loss": None
            if trade.stop_loss is None
            else plain_decimal(trade.stop_loss, field_decimals("stop_loss", instrument)),
            "executed_at": trade.executed_at.isoformat().replace("+00:00", "Z"),
            "age_seconds": int(position.age.total_seconds()),
            "strategy": trade.strategy,
            "account": trade.account,
            "model_version": trade.model_version,
            "price": None
            if bar is None
            else plain_decimal(bar.close, field_decimals("entry_price", instrument)),
            "price_at": None if bar is None else bar.began.isoformat().replace("+00:00", "Z"),
            "price_timeframe": None if bar is None else bar.timeframe,
            "currency": position.currency,
            "unrealised_pnl": money(position.unrealised_pnl),
            "unrealised_r": None if r is None else figure_text("r_multiple", r, instrument),
            "risk_to_stop": money(position.risk_to_stop),
            "problem": position.problem,
        }


class PositionFilter(TradeFilter):
    """Filters of GET /positions: the trade list's, but no time range or status (a
    position is an open trade, now)."""

    # A name set to None drops the inherited filter (django-filter's declared filters).
    since = None
    until = None
    status = None


class PositionsView(ListAPIView):
    """Open positions, newest first, at the latest stored market bar."""

    serializer_class = PositionSerializer
    pagination_class = TradeCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = PositionFilter
    permission_classes = [scope("trades:read", "journal.view_trade")]

    def get_queryset(self):
        # The open trades' own index (journal_trade_open_idx) serves the page, from the
        # oldest open trade on (journal_opentrade): no older chunk is read.
        return open_trades()

    @extend_schema(
        summary="Open positions",
        description="The open trades, newest first, each with the latest stored market "
        "price of its symbol and what follows from it: unrealised P&L, R, the risk to "
        "the initial stop and the position's age (scope `trades:read`). Decimals are "
        "strings at the instrument's decimals; a figure that cannot be made (no bar "
        "since the trade opened, no instrument, no stop) is null and `problem` says "
        "why.",
        responses={200: PositionSerializer},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        open_positions = positions.positions_of(page, now=timezone.now())
        return self.get_paginated_response(self.get_serializer(open_positions, many=True).data)
