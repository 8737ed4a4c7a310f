"""The OpenAPI parameters the serving routes share, each described once (issue 28): the
predict route, the V2 and MLflow protocols, the live figures and the challengers'
operations all name a registered model the same way."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter

DEMO_MODEL = "trade-outcome-xgboost"

MODEL_NAME = OpenApiParameter(
    "name",
    str,
    OpenApiParameter.PATH,
    description="A registered model's name, e.g. the demo's `trade-outcome-xgboost`.",
    examples=[
        OpenApiExample("the demo's XGBoost model", value=DEMO_MODEL),
        OpenApiExample("the demo's LightGBM model", value="trade-outcome-lightgbm"),
    ],
)
