"""DRF authentication by API key and permission by scope.

Machine clients send ``Authorization: Api-Key <key>``; staff may use their admin session
instead. A view names the scope it needs with ``permission_classes = [scope("...")]``.
"""

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions, permissions

from backoffice.models import ApiKey
from backoffice.services import api_key_authenticate

KEYWORD = "Api-Key"


class ApiKeyUser(AnonymousUser):
    """The request.user of a request authenticated by an API key (not a staff user)."""

    def __init__(self, key: ApiKey):
        self.key = key
        self.username = f"api-key:{key.name}"

    @property
    def is_authenticated(self):
        return True

    def __str__(self):
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw_key = header.partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None
        key = api_key_authenticate(raw_key.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        request._request.api_key = key  # the request log names the key
        return ApiKeyUser(key), key

    def authenticate_header(self, request):
        return KEYWORD


def scope(name: str) -> type[permissions.BasePermission]:
    """A permission class: staff sessions, or an API key holding scope ``name``."""

    class HasScope(permissions.BasePermission):
        message = f"this needs the API key scope {name!r} or a staff session"

        def has_permission(self, request, view):
            key = request.auth if isinstance(request.auth, ApiKey) else None
            if key is not None:
                return key.has_scope(name)
            user = request.user
            return bool(user and user.is_authenticated and user.is_staff and user.is_active)

    HasScope.__name__ = HasScope.__qualname__ = f"HasScope[{name}]"
    return HasScope
