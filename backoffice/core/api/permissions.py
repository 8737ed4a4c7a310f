"""Permission by scope: the API contract's answer to "may this request do that?".

Machine clients send an API key (apikeys.authentication); staff may use their admin
session instead. A view names the key scope it needs and the model permission a staff
session needs for the same operation: ``permission_classes = [scope("trades:read",
"journal.view_trade")]``.
"""

from rest_framework import permissions


def scope(name: str, perm: str) -> type[permissions.BasePermission]:
    """A permission class: an API key holding scope ``name``, or a staff session whose
    user holds the model permission ``perm`` ("app_label.codename"), the one the same
    operation needs in the admin. A superuser holds every permission."""
    return access(scopes=(name,), perm=perm)


def access(*, scopes: tuple[str, ...], perm: str) -> type[permissions.BasePermission]:
    """A permission class: a key holding any of ``scopes``, or a staff session whose
    user has ``perm``. A staff session may do through the API exactly what its model
    permissions allow in the admin, and nothing more."""
    wanted = " or ".join(repr(name) for name in scopes)

    class Access(permissions.BasePermission):
        message = (
            f"this needs an API key with the scope {wanted}, or a staff session with the "
            f"permission {perm!r}"
        )

        def has_permission(self, request, view):
            # An API key's request carries the key (apikeys.authentication).
            key = request.auth if hasattr(request.auth, "has_scope") else None
            if key is not None:
                return any(key.has_scope(name) for name in scopes)
            user = request.user
            return bool(
                user
                and user.is_authenticated
                and user.is_staff
                and user.is_active
                and user.has_perm(perm)
            )

    Access.__name__ = Access.__qualname__ = f"Access[{'|'.join(scopes)};{perm}]"
    return Access
