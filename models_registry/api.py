"""GET /api/v1/models and /api/v1/models/{name}: the registry as machine clients see it."""

from __future__ import annotations

import logging

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api.permissions import scope
from models_registry import selectors
from models_registry.models import ModelVersion, OutputKind, RegisteredModel

logger = logging.getLogger(__name__)


class FeatureSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["float", "int", "bool", "category"])


class VersionSerializer(serializers.ModelSerializer):
    feature_schema = FeatureSerializer(many=True)
    created_by = serializers.SerializerMethodField()
    aliases = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "version",
            "framework",
            "sha256",
            "size",
            "feature_schema",
            "output_kind",
            "metrics",
            "training_window_start",
            "training_window_end",
            "description",
            "created_by",
            "created_at",
            "aliases",
        ]

    def get_created_by(self, obj) -> str:
        return obj.created_by.get_username() if obj.created_by_id else "operator"

    def get_aliases(self, obj) -> list[str]:
        return sorted(self.context.get("aliases_by_version", {}).get(obj.pk, []))


class ModelSummarySerializer(serializers.ModelSerializer):
    versions = serializers.IntegerField(source="version_count")
    latest_version = serializers.IntegerField(allow_null=True)
    aliases = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = ["name", "description", "task", "versions", "latest_version", "aliases"]

    def get_aliases(self, obj) -> dict[str, int]:
        return {alias.name: alias.version.version for alias in obj.aliases.all()}


class AliasSchemaSerializer(serializers.Serializer):
    """What a client of one alias sends and gets: check it before sending."""

    version = serializers.IntegerField(help_text="The version the alias points at.")
    feature_schema = FeatureSerializer(
        many=True,
        help_text="The features every instance must carry (no more, no fewer), in the "
        "order the values of an `inputs` row take.",
    )
    output_kind = serializers.ChoiceField(choices=OutputKind.choices)
    moved_at = serializers.DateTimeField(help_text="When the alias last moved.")


class ModelDetailSerializer(serializers.ModelSerializer):
    aliases = serializers.SerializerMethodField()
    alias_schemas = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = [
            "name",
            "description",
            "task",
            "positive_class",
            "created_at",
            "aliases",
            "alias_schemas",
            "versions",
        ]

    def get_aliases(self, obj) -> dict[str, int]:
        return {alias.name: alias.version.version for alias in obj.aliases.all()}

    @extend_schema_field(serializers.DictField(child=AliasSchemaSerializer()))
    def get_alias_schemas(self, obj) -> dict[str, dict]:
        return {
            alias.name: AliasSchemaSerializer(
                {
                    "version": alias.version.version,
                    "feature_schema": alias.version.feature_schema,
                    "output_kind": alias.version.output_kind,
                    "moved_at": alias.updated_at,
                }
            ).data
            for alias in obj.aliases.all()
        }

    @extend_schema_field(VersionSerializer(many=True))
    def get_versions(self, obj) -> list[dict]:
        by_version: dict[int, list[str]] = {}
        for alias in obj.aliases.all():
            by_version.setdefault(alias.version_id, []).append(alias.name)
        context = {"aliases_by_version": by_version}
        return VersionSerializer(obj.versions.all(), many=True, context=context).data


class ModelListView(APIView):
    permission_classes = [scope("predict", "models_registry.view_registeredmodel")]

    @extend_schema(
        operation_id="models_list",
        summary="Registered models",
        description="Every registered model with its version count and aliases.",
        responses={200: ModelSummarySerializer(many=True)},
    )
    def get(self, request):
        return Response(ModelSummarySerializer(selectors.model_list(), many=True).data)


class ModelDetailView(APIView):
    permission_classes = [scope("predict", "models_registry.view_registeredmodel")]

    @extend_schema(
        operation_id="models_retrieve",
        summary="One model: versions, aliases, feature schema, metrics",
        description="`alias_schemas` gives each alias's version and the features it takes "
        "(names, types, order): a client checks it before sending, since a move of the "
        "alias to a version with another schema changes what its requests must hold.",
        parameters=[
            OpenApiParameter(
                "name",
                str,
                OpenApiParameter.PATH,
                description="The model's name, e.g. the demo's `trade-outcome-xgboost`.",
            )
        ],
        responses={
            200: ModelDetailSerializer,
            404: OpenApiResponse(description="No model of that name."),
        },
    )
    def get(self, request, name: str):
        return Response(ModelDetailSerializer(selectors.model_detail(name=name)).data)
