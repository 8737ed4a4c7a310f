"""A refusal on a staff page is the admin's own page, never a bare "403 Forbidden".

Django answers a PermissionDenied with a page of one line, without the admin's header,
navigation or a way back; a reviewer who followed a link met it on every step of the
chain. For an active staff user on an admin page (and for a form whose CSRF check
failed there) the answer is an admin page with the site's navigation, what was refused
and why when the refusal said so; still a 403. Anyone else, and every other path, gets
Django's own answer (the API answers its refusals itself: backoffice.core.api.errors).
"""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import csrf, defaults

GENERIC = (
    "Your account does not have the permission this page needs. An administrator can "
    "give it; meanwhile the pages you may open are listed beside this one."
)


def _staff_page(request) -> bool:
    user = getattr(request, "user", None)
    return bool(
        request.path.startswith(reverse("admin:index"))
        and user is not None
        and user.is_active
        and user.is_staff
    )


def _page(request, *, title: str, reason: str):
    context = {
        **admin.site.each_context(request),
        "title": title,
        "reason": reason,
        "refused_path": request.path,
    }
    response = TemplateResponse(request, "admin/denied.html", context, status=403)
    return response.render()


def permission_denied(request, exception=None, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    """handler403: the admin's page for staff on admin pages, Django's elsewhere."""
    if not _staff_page(request):
        return defaults.permission_denied(request, exception, template_name)
    said = str(exception or "").strip()[:500]
    reason = (said[0].upper() + said[1:] + ("" if said.endswith(".") else ".")) if said else GENERIC
    return _page(request, title="You may not open this page", reason=reason)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: on an admin page, the admin's page saying what to do."""
    if not _staff_page(request):
        return csrf.csrf_failure(request, reason)
    return _page(
        request,
        title="This form could not be sent",
        reason=(
            "The page it came from was too old, or the browser did not send its cookie. "
            "Open the page again and send the form once more."
        ),
    )
