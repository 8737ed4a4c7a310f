"""GET /api/v1/models and /api/v1/models/{name}: the registry as machine clients see it."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api_auth import scope
from models_registry import selectors
from models_registry.models import ModelVersion, RegisteredModel
from models_registry.services import NotFound, RegistryError

logger = logging.getLogger(__name__)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What is wrong, and what to change.")
    code = serializers.CharField(help_text="A stable machine-readable code.")
    field = serializers.CharField(
        required=False, help_text="The input at fault, e.g. instances[3].rsi_14."
    )
    row = serializers.IntegerField(required=False, help_text="The index of the row at fault.")


class RegistryAPIView(APIView):
    """Maps the registry's errors to 4xx/503 bodies; no input ever makes a 500."""

    def handle_exception(self, exc):
        if isinstance(exc, NotFound):
            return self.error(404, str(exc), code="not_found", field=exc.field)
        if isinstance(exc, RegistryError):
            return self.error(400, str(exc), code="invalid", field=exc.field)
        if isinstance(exc, DatabaseError):
            logger.warning("registry database unavailable", extra={"error": str(exc)[:200]})
            return self.error(
                503,
                "the model registry's database is unavailable; retry shortly",
                code="registry_unavailable",
            )
        try:
            response = super().handle_exception(exc)
        except Exception:
            logger.exception("unexpected error in the API", extra={"view": type(self).__name__})
            return self.error(
                503, "the request could not be served; retry shortly", code="unavailable"
            )
        # DRF's own errors (auth, throttle, parse) get the same body shape.
        if isinstance(response.data, dict) and set(response.data) == {"detail"}:
            detail = getattr(exc, "detail", None)
            response.data["code"] = getattr(detail, "code", None) or "error"
        return response

    @staticmethod
    def error(
        status: int, detail: str, *, code: str, field: str | None = None, row: int | None = None
    ) -> Response:
        body: dict = {"detail": detail, "code": code}
        if field is not None:
            body["field"] = field
        if row is not None:
            body["row"] = row
        return Response(body, status=status)


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


class ModelDetailSerializer(serializers.ModelSerializer):
    aliases = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = ["name", "description", "task", "created_at", "aliases", "versions"]

    def get_aliases(self, obj) -> dict[str, int]:
        return {alias.name: alias.version.version for alias in obj.aliases.all()}

    @extend_schema_field(VersionSerializer(many=True))
    def get_versions(self, obj) -> list[dict]:
        by_version: dict[int, list[str]] = {}
        for alias in obj.aliases.all():
            by_version.setdefault(alias.version_id, []).append(alias.name)
        context = {"aliases_by_version": by_version}
        return VersionSerializer(obj.versions.all(), many=True, context=context).data


class ModelListView(RegistryAPIView):
    permission_classes = [scope("predict", "models_registry.view_registeredmodel")]

    @extend_schema(
        operation_id="models_list",
        summary="Registered models",
        description="Every registered model with its version count and aliases.",
        responses={200: ModelSummarySerializer(many=True)},
        tags=["models"],
    )
    def get(self, request):
        return Response(ModelSummarySerializer(selectors.model_list(), many=True).data)


class ModelDetailView(RegistryAPIView):
    permission_classes = [scope("predict", "models_registry.view_registeredmodel")]

    @extend_schema(
        operation_id="models_retrieve",
        summary="One model: versions, aliases, feature schema, metrics",
        responses={
            200: ModelDetailSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No model of that name."),
        },
        tags=["models"],
    )
    def get(self, request, name: str):
        return Response(ModelDetailSerializer(selectors.model_detail(name=name)).data)
