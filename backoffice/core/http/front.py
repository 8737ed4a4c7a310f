"""The front door: ``/`` and the URLs no route matches.

``/`` sends staff to the admin and everyone else (a bot developer, a browser that is not
logged in) to the API docs. A URL that no route matches gets the project's 404 (the
API's error body under /api/, the protocols' bodies, a plain page elsewhere) also with
DEBUG on, where Django would answer its debug page listing every URL pattern.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.urls import resolve, reverse

from backoffice.core.api.errors import not_found

UNMATCHED = "unmatched"


def home(request):
    """``/``: the admin for staff, the API docs for everyone else."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return HttpResponseRedirect(reverse("admin:index"))
    return HttpResponseRedirect(reverse("api-docs"))


def unmatched(request, path: str = ""):
    """The last route: what no other route takes. Django's APPEND_SLASH still applies
    (``/admin`` goes to ``/admin/``, for a GET or HEAD: a body is never redirected),
    then the project's 404."""
    if (
        settings.APPEND_SLASH
        and request.method in ("GET", "HEAD")
        and not request.path_info.endswith("/")
    ):
        if resolve(request.path_info + "/").url_name != UNMATCHED:
            target = request.get_full_path(force_append_slash=True)
            return HttpResponsePermanentRedirect(target)
    return not_found(request, Http404("no route"))
