"""The serving app has no models; the registry's admin moves aliases (models_registry)."""
