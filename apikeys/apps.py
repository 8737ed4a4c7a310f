from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    """Who may come in: machine clients' API keys, and the limits on failed API keys
    and admin logins."""

    name = "apikeys"
    verbose_name = "API keys"

    def ready(self):
        from apikeys import login_throttle
        from backoffice.core.admin_site import register_login_guard

        register_login_guard(login_throttle.locked_out)
