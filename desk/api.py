"""The desk's API: POST/GET /api/v1/trade-ideas and GET /api/v1/decisions."""

from decimal import Decimal

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response

from backoffice.core.api.pagination import CursorPagination
from backoffice.core.api.parsers import JSONParser
from backoffice.core.api.permissions import access, scope
from backoffice.core.api.serializers import StrictSerializer
from desk.models import Action, Decision, Direction, IdeaStatus, Strategy, TradeIdea
from desk.services import idea_submit
from journal.domain.trade_record import SYMBOL
from journal.query_filters import SymbolFilter, UtcDateTimeFilter

PRICE = {"max_digits": 20, "decimal_places": 8}
TICK = Decimal("0.00000001")


class StrategyNameField(serializers.SlugRelatedField):
    """A strategy by its name. A name with a NUL is refused before the lookup: PostgreSQL
    cannot hold one in text and would fail the query (a 500)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            raise serializers.ValidationError("Null characters are not allowed.")
        return super().to_internal_value(data)


class TradeIdeaIn(StrictSerializer):
    """A trade idea as the AI engine proposes it; the risk gate checks it on arrival."""

    symbol = serializers.RegexField(SYMBOL, max_length=32)
    direction = serializers.ChoiceField(choices=Direction.choices)
    entry_price = serializers.DecimalField(**PRICE, min_value=TICK)
    entry_range = serializers.ListField(
        child=serializers.DecimalField(**PRICE, min_value=TICK),
        min_length=2,
        max_length=2,
        required=False,
        help_text="[low, high]",
    )
    stop_loss = serializers.DecimalField(**PRICE, min_value=TICK, required=False)
    take_profit = serializers.DecimalField(**PRICE, min_value=TICK, required=False)
    lot_size = serializers.DecimalField(**PRICE, min_value=TICK, required=False)
    expected_hold = serializers.IntegerField(
        min_value=1, max_value=525_600, required=False, help_text="minutes"
    )
    rationale = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    confidence_score = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=0,
        max_value=1,
        required=False,
        help_text="the probability that the idea's direction wins (0 to 1). Required "
        "unless the idea cites a recorded prediction (prediction_id): then it is that "
        "prediction's, and a stated one must agree with it",
    )
    strategy = StrategyNameField(
        slug_field="name", queryset=Strategy.objects.all(), required=False, allow_null=True
    )
    snapshot_ref = serializers.CharField(max_length=200, required=False, allow_blank=True)
    model_version = serializers.CharField(max_length=132, required=False, allow_blank=True)
    prediction_id = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        required=False,
        allow_blank=True,
        help_text="the prediction_id of the prediction that proposed the idea",
    )

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("symbol"), str):
            data = {**data, "symbol": data["symbol"].strip().upper()}
        return super().to_internal_value(data)

    def to_idea(self) -> TradeIdea:
        data = dict(self.validated_data)
        low_high = data.pop("entry_range", None)
        if low_high:
            data["entry_range_low"], data["entry_range_high"] = low_high
        return TradeIdea(**data)


class TradeIdeaOut(serializers.ModelSerializer):
    strategy = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="the person who decided"
    )
    status_detail = serializers.CharField(
        read_only=True, help_text="e.g. 'Approved by sue at 2026-11-28 09:12 UTC'"
    )

    class Meta:
        model = TradeIdea
        fields = [
            "id",
            "created_at",
            "symbol",
            "direction",
            "entry_price",
            "entry_range_low",
            "entry_range_high",
            "stop_loss",
            "take_profit",
            "lot_size",
            "expected_hold",
            "rationale",
            "confidence_score",
            "status",
            "strategy",
            "snapshot_ref",
            "model_version",
            "prediction_id",
            "risk_check_result",
            "status_detail",
            "decided_at",
            "decided_by",
        ]


class DecisionOut(serializers.ModelSerializer):
    strategy = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "occurred_at",
            "symbol",
            "action",
            "rationale",
            "confidence_score",
            "risk_check_result",
            "strategy",
            "trade_idea",
            "snapshot_ref",
            "human_override",
            "actor",
        ]


class IdeaFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=IdeaStatus.choices)
    symbol = SymbolFilter(help_text="A symbol, in any case (eurusd finds EURUSD).")
    strategy = django_filters.CharFilter(
        field_name="strategy__name", help_text="The strategy's name, exactly."
    )
    since = UtcDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="Submitted at or after this time (ISO 8601 with an offset).",
    )
    until = UtcDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text="Submitted before this time (ISO 8601 with an offset).",
    )

    class Meta:
        model = TradeIdea
        fields = []


class DecisionFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=Action.choices)
    symbol = SymbolFilter(help_text="A symbol, in any case (eurusd finds EURUSD).")
    trade_idea = django_filters.NumberFilter(help_text="The decisions of this idea (its id).")
    since = UtcDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        help_text="Made at or after this time (ISO 8601 with an offset).",
    )
    until = UtcDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lt",
        help_text="Made before this time (ISO 8601 with an offset).",
    )

    class Meta:
        model = Decision
        fields = []


class IdeaPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    example_path = "/api/v1/trade-ideas"


class DecisionPagination(IdeaPagination):
    ordering = ("-occurred_at", "-id")
    example_path = "/api/v1/decisions"


class TradeIdeasView(ListAPIView):
    """Submit trade ideas (the AI engine) and list them."""

    parser_classes = [JSONParser]
    serializer_class = TradeIdeaOut
    pagination_class = IdeaPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = IdeaFilter
    queryset = TradeIdea.objects.select_related("strategy", "decided_by")

    def get_permissions(self):
        if self.request.method == "POST":
            return [scope("ideas:write", "desk.add_tradeidea")()]
        return [access(scopes=("ideas:write", "trades:read"), perm="desk.view_tradeidea")()]

    @extend_schema(
        summary="Submit a trade idea; the risk gate answers at once",
        request=TradeIdeaIn,
        responses={
            201: inline_serializer(
                "IdeaVerdict",
                {
                    "id": serializers.IntegerField(),
                    "status": serializers.ChoiceField(choices=IdeaStatus.choices),
                    "risk_check_result": serializers.DictField(),
                },
            ),
        },
    )
    def post(self, request):
        incoming = TradeIdeaIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        idea, _ = idea_submit(idea=incoming.to_idea(), actor=str(request.user))  # DeskError
        return Response(
            {"id": idea.pk, "status": idea.status, "risk_check_result": idea.risk_check_result},
            status=201,
        )

    @extend_schema(
        summary="List trade ideas, newest first",
        responses={200: TradeIdeaOut},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DecisionsView(ListAPIView):
    """The decision history, newest first (read-only: it is append-only)."""

    serializer_class = DecisionOut
    pagination_class = DecisionPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = DecisionFilter
    queryset = Decision.objects.select_related("strategy")

    permission_classes = [access(scopes=("ideas:write", "trades:read"), perm="desk.view_decision")]

    @extend_schema(
        summary="List decisions, newest first",
        responses={200: DecisionOut},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
