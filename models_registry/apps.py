from django.apps import AppConfig


class ModelsRegistryConfig(AppConfig):
    """Registered models, their versions, aliases and artifacts."""

    name = "models_registry"
    verbose_name = "Model registry"
