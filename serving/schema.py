"""OpenAPI: describe the project's API-key authentication to drf-spectacular.

Without this extension the schema generator warns that it cannot resolve
backoffice.api_auth.ApiKeyAuthentication and documents no security scheme.
"""

from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from serving.auth import RememberingApiKeyAuthentication

# The same scheme as its parent class: one "ApiKeyAuth" component for both.
set_override(RememberingApiKeyAuthentication, "suppress_collision_warning", True)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "backoffice.api_auth.ApiKeyAuthentication"
    match_subclasses = True  # serving.auth's remembering variant too
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; keys are made with `manage.py create_api_key`.",
        }
