from django.apps import AppConfig


class ServingConfig(AppConfig):
    """The prediction API, the predictor cache and the prediction cache."""

    name = "serving"
    verbose_name = "Serving"
