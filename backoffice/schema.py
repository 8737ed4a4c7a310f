"""OpenAPI: describe the project's API-key authentication to drf-spectacular.

Without this extension the schema generator warns that it cannot resolve
backoffice.api_auth.ApiKeyAuthentication and documents no security scheme. Imported by
backoffice.urls: the schema is only ever generated from the URLs, and management
commands, which never load them, do not pay for drf-spectacular's import.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "backoffice.api_auth.ApiKeyAuthentication"
    match_subclasses = True  # serving.auth's remembering variant too (serving.api)
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; keys are made with `manage.py create_api_key`.",
        }
