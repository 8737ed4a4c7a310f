from django.apps import AppConfig


class ServingConfig(AppConfig):
    """The prediction API, the predictor cache and the prediction cache."""

    name = "serving"
    verbose_name = "Serving"

    def ready(self):
        # Nothing is loaded here: ready() also runs for migrate and every command.
        # Warm-up is serving.predict.warmup (gunicorn's post_worker_init, or the first request).
        from models_registry.signals import aliases_changed, versions_changed
        from serving.predict.hotswap import announce_alias_change

        aliases_changed.connect(announce_alias_change, dispatch_uid="serving-alias-stamp")

        from backoffice.core.health import register_check
        from serving.live.record_reads import recorder_check

        register_check("prediction_records", recorder_check)
        # A version compiled (or no longer): the same stamp makes every worker resolve
        # it again, and the predictor cache reloads a version whose record changed.
        versions_changed.connect(announce_alias_change, dispatch_uid="serving-version-stamp")
