from django.apps import AppConfig


class ServingConfig(AppConfig):
    """The prediction API, the predictor cache and the prediction cache."""

    name = "serving"
    verbose_name = "Serving"

    def ready(self):
        # The process's serving objects, built once here (serving.predict.runtime). Nothing
        # is loaded: ready() also runs for migrate and every command. Warm-up is
        # Runtime.warm (gunicorn's post_worker_init) or the first prediction.
        from backoffice.core.ops.health import register_check
        from models_registry.signals import aliases_changed, versions_changed
        from serving.predict import runtime

        built = runtime.build()
        runtime.install(built)
        aliases_changed.connect(
            built.resolver.announce_alias_change, dispatch_uid="serving-alias-stamp"
        )
        # A version compiled (or no longer): the same stamp makes every worker resolve
        # it again, and the predictor cache reloads a version whose record changed.
        versions_changed.connect(
            built.resolver.announce_alias_change, dispatch_uid="serving-version-stamp"
        )
        register_check("prediction_records", built.readiness)
        self.provide_extensions()

    def provide_extensions(self):
        """What the journal, the desk and the registry show of serving, without
        importing it (backoffice.core.extensions)."""
        from backoffice.core import extensions
        from serving.admin import record_link, version_link
        from serving.live.health_admin import version_live_html
        from serving.live.record_reads import prediction_find
        from serving.live.recorder import prediction_made_at

        extensions.find_prediction.provide(lambda pid: prediction_find(prediction_id=pid))
        extensions.prediction_made_at.provide(prediction_made_at)
        extensions.prediction_link.provide(record_link)
        extensions.version_link.provide(version_link)
        extensions.version_live_html.provide(version_live_html)
