"""The API of an alias's challenger (models_registry.challengers, serving.live.comparison).

  GET    /api/v1/models/{name}/aliases/{alias}/challenger           the comparison
  PUT    /api/v1/models/{name}/aliases/{alias}/challenger           set it
  DELETE /api/v1/models/{name}/aliases/{alias}/challenger           remove it
  POST   /api/v1/models/{name}/aliases/{alias}/challenger/promote   promote it
  POST   /api/v1/models/{name}/aliases/{alias}/rollback             roll the alias back

Reading takes what a version's live figures take (a key with trades:read or predict, or
a staff session that may view versions). Changing takes the permission to move aliases
(models_registry.change_modelalias), which only a staff session holds: no API key scope
moves an alias, as no key may in the admin.

Every change names what its caller saw (the GET's ``version``, ``challenger`` and
``last_move``): ``expected_version`` and ``expected_challenger`` for a challenger
change or a promotion, ``move`` (the move it undoes) for a rollback. When the alias
is elsewhere now, the answer is a 409 (``conflict``) naming what changed, and nothing
moves: two rollbacks sent at once roll back once (issue 26, item 4).
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api.permissions import access
from backoffice.core.api.serializers import StrictSerializer
from backoffice.core.text import plain_digits as _plain_digits
from models_registry import selectors
from models_registry.challengers import challenger_clear, challenger_promote, challenger_set
from models_registry.errors import AwaitsSecondPerson, NotFound
from models_registry.models import ChallengerMode, ModelAlias, ModelVersion
from models_registry.services import REASON_MAX, alias_rollback
from serving.api_parameters import MODEL_NAME
from serving.errors import InvalidInput
from serving.live.comparison import compare, evidence_rows
from serving.live.figures_api import MAX_DAYS

MOVE = access(scopes=(), perm="models_registry.change_modelalias")
READ = access(scopes=("trades:read", "predict"), perm="models_registry.view_modelversion")
_ERRORS = {
    400: OpenApiResponse(description="A field is wrong (the error body names it)."),
    401: OpenApiResponse(description="Not authenticated."),
    403: OpenApiResponse(description="Not allowed."),
    404: OpenApiResponse(description="Unknown model, alias or version."),
}


_CONFLICT = OpenApiResponse(
    description="The alias or its challenger changed since you looked (`conflict`): "
    "nothing was changed."
)


# The path parameters every operation here takes, described once.
MODEL_ALIAS = [
    MODEL_NAME,
    OpenApiParameter(
        "alias", str, OpenApiParameter.PATH, description="The alias, e.g. `production`."
    ),
]


def _expected_version(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        help_text="The alias's version as you saw it (`version` of the GET): the change is "
        "refused with a 409 if the alias points elsewhere now.",
        **kwargs,
    )


def _expected_challenger(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        help_text="The challenger's version as you saw it (`challenger.version` of the "
        "GET; null when it had none): the change is refused with a 409 if it differs now.",
        **kwargs,
    )


class ChallengerSetSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    expected_version = _expected_version()
    expected_challenger = _expected_challenger(allow_null=True)
    mode = serializers.ChoiceField(choices=ChallengerMode.values)
    share = serializers.FloatField(
        required=False,
        default=0.0,
        help_text="canary: the share (more than 0, less than 1) of requests carrying an "
        "X-Routing-Key that the challenger answers",
    )
    reason = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=REASON_MAX
    )


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=REASON_MAX
    )


class RemoveSerializer(ReasonSerializer):
    expected_challenger = _expected_challenger()


class _ConfirmSerializer(ReasonSerializer):
    confirm_breaking = serializers.BooleanField(
        required=False,
        default=False,
        help_text="a move that breaks the alias's clients needs it and a reason",
    )


class PromoteSerializer(_ConfirmSerializer):
    expected_version = _expected_version()
    expected_challenger = _expected_challenger()


class RollbackSerializer(_ConfirmSerializer):
    move = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        help_text="The id of the move the rollback undoes: the alias's last move "
        "(`last_move.move` of GET .../challenger). A 409 if the alias moved since.",
    )


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _alias(name: str, alias: str) -> ModelAlias:
    model = selectors.model_detail(name=name)
    found = (
        ModelAlias.objects.select_related("model", "version__model", "challenger__model")
        .filter(model=model, name=alias)
        .first()
    )
    if found is None:
        raise NotFound(f"model {name!r} has no alias {alias!r}", field="alias")
    return found


def _version(alias: ModelAlias, number: int | None, field: str) -> ModelVersion | None:
    """The alias's model's version ``number`` (None for None); NotFound naming ``field``."""
    if number is None:
        return None
    found = ModelVersion.objects.filter(model=alias.model, version=number).first()
    if found is None:
        raise NotFound(f"model {alias.model.name!r} has no version {number}", field=field)
    return found


def _last_move(alias: ModelAlias) -> dict | None:
    move = selectors.alias_last_move(model=alias.model, alias=alias.name)
    return None if move is None else _move(move)


def _state(alias: ModelAlias, days: int | None = None) -> dict:
    return {
        "model": alias.model.name,
        "alias": alias.name,
        "version": alias.version.version,
        "last_move": _last_move(alias),
        "challenger": None
        if alias.challenger_id is None
        else {
            "version": alias.challenger.version,
            "mode": alias.challenger_mode,
            "share": alias.challenger_share,
        },
        "comparison": compare(alias=alias, days=days).as_dict() if alias.challenger_id else None,
    }


def _days(request) -> int | None:
    raw = request.query_params.get("days")
    if raw is None:
        return None
    if not _plain_digits(raw) or not 1 <= int(raw) <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
    return int(raw)


def _staff(request):
    return request.user if request.user and request.user.is_authenticated else None


class ChallengerView(APIView):
    def get_permissions(self):
        return [(READ if self.request.method == "GET" else MOVE)()]

    @extend_schema(
        operation_id="models_alias_challenger",
        summary="An alias's challenger, compared with its version on the same live rows",
        description="`comparison` (null without a challenger): `same_rows` (answers scored "
        "by both, agreement on the side of 0.5, mean and largest absolute difference), "
        "`same_trades` (each one's calibration over the trades of rows both scored), and "
        "each version's live figures as in its performance.",
        parameters=[
            *MODEL_ALIAS,
            OpenApiParameter("days", int, description="the last N days (default 30)"),
        ],
        responses={200: OpenApiResponse(description="the state and comparison"), **_ERRORS},
        tags=["models"],
    )
    def get(self, request, name: str, alias: str):
        days = _days(request)
        return Response(_state(_alias(name, alias), days))

    @extend_schema(
        operation_id="models_alias_challenger_set",
        summary="Set an alias's challenger (shadow or canary)",
        request=ChallengerSetSerializer,
        responses={
            200: OpenApiResponse(description="the new state"),
            409: _CONFLICT,
            **_ERRORS,
        },
        tags=["models"],
        parameters=MODEL_ALIAS,
    )
    def put(self, request, name: str, alias: str):
        data = _valid(ChallengerSetSerializer, request.data)
        target = _alias(name, alias)
        challenger_set(
            model=target.model,
            alias=alias,
            version=_version(target, data["version"], "version"),
            mode=data["mode"],
            share=data["share"],
            expected_version=_version(target, data["expected_version"], "expected_version"),
            expected_challenger=_version(
                target, data["expected_challenger"], "expected_challenger"
            ),
            changed_by=_staff(request),
            reason=data["reason"],
        )
        return Response(_state(_alias(name, alias)))

    @extend_schema(
        operation_id="models_alias_challenger_remove",
        summary="Remove an alias's challenger",
        parameters=[
            *MODEL_ALIAS,
            OpenApiParameter(
                "expected_challenger",
                int,
                required=True,
                description="the challenger's version as you saw it: a 409 if it differs now",
            ),
            OpenApiParameter("reason", str, description="recorded with the change"),
        ],
        responses={
            200: OpenApiResponse(description="the new state"),
            409: _CONFLICT,
            **_ERRORS,
        },
        tags=["models"],
    )
    def delete(self, request, name: str, alias: str):
        data = _valid(RemoveSerializer, request.query_params.dict())
        target = _alias(name, alias)
        challenger_clear(
            model=target.model,
            alias=alias,
            expected_challenger=_version(
                target, data["expected_challenger"], "expected_challenger"
            ),
            changed_by=_staff(request),
            reason=data["reason"],
        )
        return Response(_state(_alias(name, alias)))


def _move(move) -> dict:
    return {
        "move": move.pk,
        "from_version": move.from_version.version if move.from_version else None,
        "to_version": move.to_version.version,
        "breaking": move.breaking,
        "reason": move.reason,
        "rollback_of": move.rollback_of_id,
        # A promotion's live rows (null for other moves), and whether they were fewer
        # than MODEL_PROMOTION_MIN_ROWS (it then needed its reason).
        "evidence_rows": move.evidence_rows,
        "thin_evidence": move.thin_evidence,
    }


# One component for every operation that may answer it (made once: drf-spectacular
# warns about two classes of one name).
BREAKING_MOVE_WAITS = inline_serializer(
    "BreakingMoveWaits",
    {
        "detail": serializers.CharField(),
        "request": serializers.IntegerField(
            help_text="the request a second person confirms in the admin"
        ),
    },
)


def _answers() -> dict:
    return {
        200: OpenApiResponse(description="the alias move"),
        202: OpenApiResponse(
            response=BREAKING_MOVE_WAITS,
            description="Four eyes: a confirmed breaking move waits for a second person who "
            "may move aliases; the alias stays where it is until then.",
        ),
        409: OpenApiResponse(
            description="It would break clients (`breaking_change`: confirm with a reason), "
            "or the alias changed since you looked (`conflict`: nothing moved)."
        ),
        **_ERRORS,
    }


class AliasMoveView(APIView):
    """An audited move of an alias that the body asks for (a promotion, a rollback): the
    body checked, the move made and answered, or kept for a second person (202)."""

    permission_classes = [MOVE]
    body: type[serializers.Serializer]

    def move(self, target, alias: str, data: dict, request):
        raise NotImplementedError

    def post(self, request, name: str, alias: str):
        data = _valid(self.body, request.data)
        target = _alias(name, alias)
        try:
            done = self.move(target, alias, data, request)
        except AwaitsSecondPerson as waits:
            return _waiting(waits, request)
        return Response(_move(done))


@extend_schema_view(
    post=extend_schema(
        operation_id="models_alias_challenger_promote",
        summary="Promote an alias's challenger: the alias moves to it, in one audited action",
        description="A challenger that has scored fewer live rows beside the champion than "
        "the server's minimum (200 unless the operator sets another; the comparison's "
        "`same_rows.rows` are those rows) is promoted only with a `reason` (else a 400 "
        "naming `reason`); the move records `evidence_rows` and `thin_evidence`.",
        request=PromoteSerializer,
        responses=_answers(),
        tags=["models"],
        parameters=MODEL_ALIAS,
    )
)
class PromoteView(AliasMoveView):
    body = PromoteSerializer

    def move(self, target, alias, data, request):
        champion = _version(target, data["expected_version"], "expected_version")
        challenger = _version(target, data["expected_challenger"], "expected_challenger")
        return challenger_promote(
            model=target.model,
            alias=alias,
            expected_version=champion,
            expected_challenger=challenger,
            evidence_rows=evidence_rows(champion=champion, challenger=challenger),
            moved_by=_staff(request),
            reason=data["reason"],
            confirm_breaking=data["confirm_breaking"],
        )


@extend_schema_view(
    post=extend_schema(
        operation_id="models_alias_rollback",
        summary="Roll an alias back to the version its last move left, in one audited action",
        request=RollbackSerializer,
        responses=_answers(),
        tags=["models"],
        parameters=MODEL_ALIAS,
    )
)
class RollbackView(AliasMoveView):
    body = RollbackSerializer

    def move(self, target, alias, data, request):
        return alias_rollback(
            model=target.model,
            alias=alias,
            expected_move=data["move"],
            moved_by=_staff(request),
            reason=data["reason"],
            confirm_breaking=data["confirm_breaking"],
        )


def _waiting(waits, request) -> Response:
    """Four eyes: 202, the breaking move kept for a second person (its request id)."""
    from models_registry.four_eyes import breaking_move_request

    kept = breaking_move_request(waits, user=_staff(request))
    return Response({"detail": str(waits), "request": kept.pk}, status=202)
